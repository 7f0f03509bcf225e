package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// The files of a store live in the store's folder (Folder): its logs by
// default, its per-name locks, its supervisors' logs and the dashboard's
// token. Two stores never share a folder unless the user put both files in
// one with --db, so one store's --nuke never touches another's files.

// DefaultName is the file name of the default store in bgrun's folder.
const DefaultName = "bgr.sqlite"

// Folder returns the folder that holds the files of the store at dbPath:
// bgrun's folder for the default store (~/.bgr/bgr.sqlite), ~/.bgr/NAME/ for
// any other store directly in bgrun's folder (DB_NAME=NAME, or an older
// ~/.bgr/NAME.sqlite), and the store file's own folder anywhere else.
func Folder(dbPath string) string {
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		abs = dbPath
	}
	dir, base := filepath.Dir(abs), filepath.Base(abs)
	home, err := Home()
	if err != nil || base == DefaultName {
		return dir
	}
	if h, err := filepath.Abs(home); err != nil || h != dir {
		return dir
	}
	stem := strings.TrimSuffix(base, ".sqlite")
	if stem == base {
		stem += ".d" // a folder cannot have the store file's own name
	}
	return filepath.Join(dir, stem)
}

// Dir returns the folder of the store's files (see Folder).
func (db *DB) Dir() string { return Folder(db.path) }

// LogPath returns the default log of the record named name in the store
// folder dir: NAME-out.txt for kind "out", NAME-err.txt for "err".
func LogPath(dir, name, kind string) string {
	return filepath.Join(dir, name+"-"+kind+".txt")
}

// SupervisorLog returns where the supervisor of the record named name writes
// what it does: NAME-supervisor.txt in the store folder dir.
func SupervisorLog(dir, name string) string {
	return filepath.Join(dir, name+"-supervisor.txt")
}

// LockFile returns the lock file that serializes changes to the record named
// name, in the store folder dir.
func LockFile(dir, name string) string {
	return filepath.Join(dir, "locks", name+".lock")
}

// workLockFile returns the lock file of a piece of work of kind over many
// records (see LockWork), named after key by a hash: '@' never begins a
// record's name, so it never meets a record's lock.
func workLockFile(dir, kind, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "locks", "@"+kind+"-"+hex.EncodeToString(sum[:8])+".lock")
}

// The supervisor's files sit beside the store file at dbPath, one set per
// store: its lock (held while it runs, its pid inside), the lock that
// commands take in turn to start one, its socket, and its log.
func SupervisorLock(dbPath string) string      { return dbPath + ".supervisor.lock" }
func SupervisorStartLock(dbPath string) string { return dbPath + ".supervisor-start.lock" }
func SupervisorSocket(dbPath string) string    { return dbPath + ".supervisor.sock" }
func SupervisorLogPath(dbPath string) string {
	return strings.TrimSuffix(dbPath, ".sqlite") + "-supervisor.txt"
}

// TokenFile returns the file that holds the dashboard's login token of the
// store whose folder is dir.
func TokenFile(dir string) string {
	return filepath.Join(dir, "dashboard.token")
}

// OwnFile reports whether path names one of the store's own files, under
// that name or another (a link): the store file and SQLite's companions of
// it, a record's lock, the dashboard token, a supervisor's log. None of them
// may be given as a log: a process writing there, and its log rotation,
// would destroy the store.
func (db *DB) OwnFile(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	dir := db.Dir()
	file, err := filepath.Abs(db.path)
	if err != nil {
		file = db.path
	}
	own := []string{file, file + "-wal", file + "-shm", file + "-journal", TokenFile(dir),
		SupervisorLogPath(file), SupervisorLock(file), SupervisorStartLock(file), SupervisorSocket(file)}
	if slices.Contains(own, abs) || filepath.Dir(abs) == filepath.Join(dir, "locks") ||
		(filepath.Dir(abs) == dir && strings.HasSuffix(abs, "-supervisor.txt")) {
		return true
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return false
	}
	for _, o := range own {
		if ofi, err := os.Stat(o); err == nil && os.SameFile(fi, ofi) {
			return true
		}
	}
	return false
}

// IsDatabase reports whether path names an SQLite database or one of its
// companions, by its name (NAME.sqlite, -wal, -shm, -journal: how bgrun
// names its stores) or by its first bytes: a store of any bgrun, or of any
// other program, that a log path (or a link, or a folder swapped for a
// link) lands on. bgrun never writes logs into one, rotates or deletes it.
func IsDatabase(path string) bool {
	for _, s := range []string{".sqlite", ".sqlite-wal", ".sqlite-shm", ".sqlite-journal"} {
		if strings.HasSuffix(path, s) {
			return true
		}
	}
	return HasDatabaseHeaderFile(path)
}

// HasDatabaseHeaderFile reports whether the file at path is a regular file
// that begins as an SQLite database or its write-ahead log.
func HasDatabaseHeaderFile(path string) bool {
	// Only a regular file is opened (a FIFO's open would wait for a
	// writer), and without waiting should it become one meanwhile.
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	var b [16]byte
	n, _ := io.ReadFull(f, b[:])
	return HasDatabaseHeader(b[:n])
}

// HasDatabaseHeader reports whether b, a file's first bytes, begin an
// SQLite database or its write-ahead log.
func HasDatabaseHeader(b []byte) bool {
	return bytes.HasPrefix(b, []byte("SQLite format 3\x00")) ||
		bytes.HasPrefix(b, []byte{0x37, 0x7f, 0x06, 0x82}) || bytes.HasPrefix(b, []byte{0x37, 0x7f, 0x06, 0x83})
}

// MkdirPrivate creates dir (and its parents) readable by its owner only,
// whatever the umask. Folders of bgrun's own (~/.bgr and below) that are
// looser are tightened to 0700; any other folder that exists keeps its mode.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	home, err := Home()
	if err != nil {
		return nil
	}
	home, _ = filepath.Abs(home)
	abs, _ := filepath.Abs(dir)
	for d := abs; within(d, home); d = filepath.Dir(d) {
		if err := tighten(d, 0o700); err != nil {
			return err
		}
		if d == home {
			break
		}
	}
	return nil
}

// within reports whether path is base or inside it.
func within(path, base string) bool {
	rel, err := filepath.Rel(base, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// tighten sets path's mode to mode (0700 or 0600: its owner's alone),
// leaving alone a path of another owner or a shared folder (sticky bit, like
// /tmp), which BGR_HOME might name by mistake.
func tighten(path string, mode fs.FileMode) error {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsDir() && !fi.Mode().IsRegular() {
		return nil
	}
	if fi.Mode()&os.ModeSticky != 0 || !ownedByMe(fi) || fi.Mode().Perm() == mode {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("make %s private: %w", path, err)
	}
	return nil
}

// OpenPrivate opens path for writing with flag (os.O_APPEND, os.O_RDWR...),
// creating it with mode 0600, whatever the umask, when it does not exist;
// created says whether this call made it. An existing file keeps its mode,
// except in bgrun's own folder, where a looser file is tightened to 0600.
// Its folder is created as by MkdirPrivate.
func OpenPrivate(path string, flag int) (f *os.File, created bool, err error) {
	if err := MkdirPrivate(filepath.Dir(path)); err != nil {
		return nil, false, err
	}
	for range 10 {
		f, err = os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			if err := f.Chmod(0o600); err != nil {
				f.Close()
				return nil, false, err
			}
			return f, true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
		f, err = os.OpenFile(path, flag, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed between the two opens: try to create it again
		}
		if err != nil {
			return nil, false, err
		}
		if home, herr := Home(); herr == nil && within(path, home) {
			if fi, serr := f.Stat(); serr == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 && ownedByMe(fi) {
				f.Chmod(0o600)
			}
		}
		return f, false, nil
	}
	return nil, false, err
}

// ReadSmall reads the file at path, which must be a regular file of at most
// limit bytes: a device, a FIFO or a folder given as a config file would
// otherwise hang or fill the memory. It never blocks on a FIFO.
func ReadSmall(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, FileKind(fi.Mode()))
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is larger than %s", path, sizeText(limit))
	}
	f, err := openNoBlock(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may have been swapped for another kind since the Stat.
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, FileKind(fi.Mode()))
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %s", path, sizeText(limit))
	}
	return b, nil
}

// FileKind names the kind of a file that is not regular, for messages.
func FileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a plain file"
}

func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
