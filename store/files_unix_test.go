//go:build unix

package store

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestPrivateModes opens stores under a permissive umask and a strict one:
// bgrun's folder is 0700 and the store's files 0600 whatever the umask, and
// an older, looser ~/.bgr and store are tightened.
func TestPrivateModes(t *testing.T) {
	for _, umask := range []int{0, 0o277} {
		old := syscall.Umask(umask)
		bgr := homeEnv(t)
		db, err := Open(filepath.Join(bgr, "bgr.sqlite"))
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		r := Record{Name: "a", Command: "c", Dir: "/", StdoutPath: "o", StderrPath: "e"}
		if err := db.Put(&r); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, bgr); m != 0o700 {
			t.Errorf("umask %o: ~/.bgr is %o", umask, m)
		}
		for _, f := range []string{"bgr.sqlite", "bgr.sqlite-wal", "bgr.sqlite-shm"} {
			if m := mode(t, filepath.Join(bgr, f)); m != 0o600 {
				t.Errorf("umask %o: %s is %o", umask, f, m)
			}
		}
		db.Close()
	}

	bgr := homeEnv(t)
	os.MkdirAll(bgr, 0o755)
	os.Chmod(bgr, 0o755)
	path := filepath.Join(bgr, "bgr.sqlite")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Chmod(bgr, 0o755)
	os.Chmod(path, 0o644)
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if m := mode(t, bgr); m != 0o700 {
		t.Errorf("~/.bgr left %o", m)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("store left %o", m)
	}

	// A store elsewhere: its file is private, a folder that exists keeps
	// its mode.
	shared := t.TempDir()
	os.Chmod(shared, 0o755)
	if db, err = Open(filepath.Join(shared, "s.sqlite")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if m := mode(t, shared); m != 0o755 {
		t.Errorf("the folder of --db changed to %o", m)
	}
	if m := mode(t, filepath.Join(shared, "s.sqlite")); m != 0o600 {
		t.Errorf("--db store is %o", m)
	}
}

func TestOpenPrivate(t *testing.T) {
	bgr := homeEnv(t)
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	f, created, err := OpenPrivate(filepath.Join(bgr, "x-out.txt"), os.O_WRONLY|os.O_APPEND)
	if err != nil || !created {
		t.Fatalf("created %v, %v", created, err)
	}
	f.Close()
	if m := mode(t, filepath.Join(bgr, "x-out.txt")); m != 0o600 {
		t.Errorf("new log %o", m)
	}
	// A file outside bgrun's folder that exists keeps its mode.
	mine := filepath.Join(t.TempDir(), "mine.log")
	os.WriteFile(mine, nil, 0o644)
	f, created, err = OpenPrivate(mine, os.O_WRONLY|os.O_APPEND)
	if err != nil || created {
		t.Fatalf("created %v, %v", created, err)
	}
	f.Close()
	if m := mode(t, mine); m != 0o644 {
		t.Errorf("existing file changed to %o", m)
	}
	// A FIFO is not read: an error at once.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSmall(fifo, 1<<20); err == nil {
		t.Errorf("ReadSmall read a FIFO")
	}
}
