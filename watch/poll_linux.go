//go:build linux

package watch

import (
	"io/fs"
	"syscall"
)

// stampsTrusted is true on Linux, where adding, removing or renaming an entry always
// changes the directory's ctime, which no user call can set back: a directory whose
// stamp is unchanged (and not racy) need not be listed again.
const stampsTrusted = true

// lstat fills e from the metadata of path, without following a final symlink. It calls
// syscall.Lstat rather than os.Lstat because os.Lstat allocates a FileInfo per call, and
// a scan makes one call per file, several times a second.
func lstat(path string, e *Entry) error {
	var st syscall.Stat_t
	for {
		err := syscall.Lstat(path, &st)
		if err == nil {
			break
		}
		if err != syscall.EINTR {
			return &fs.PathError{Op: "lstat", Path: path, Err: err}
		}
	}
	*e = Entry{
		Size:    st.Size,
		ModTime: st.Mtim.Nano(),
		Mode:    fileMode(st.Mode),
		Ino:     st.Ino,
		dev:     uint64(st.Dev),
		ctime:   st.Ctim.Nano(),
	}
	return nil
}

// fileMode converts a stat mode to an fs.FileMode the way package os does, so that
// entries compare the same whichever way they were read.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFBLK:
		mode |= fs.ModeDevice
	case syscall.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
