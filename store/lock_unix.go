//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Lock takes the lock of the record named name, waiting for it: every
// change of a record that spawns or signals (a start up to its spawn, a
// stop, a delete, clean, guard on and off) holds it, so two of them never
// interleave and none leaves a process that no record knows. The lock is
// an flock on a file beside the store: the kernel drops it when its holder
// exits, so a killed bgrun never leaves a stale lock. A process must not
// take the same name's lock twice: the second wait never ends.
func (db *DB) Lock(name string) (unlock func(), err error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	unlock, _, err = Flock(LockFile(db.Dir(), name), true)
	return unlock, err
}

// TryLock takes the lock of the record named name if no one holds it; ok is
// false (and unlock nil) when someone does.
func (db *DB) TryLock(name string) (unlock func(), ok bool, err error) {
	if err := ValidateName(name); err != nil {
		return nil, false, err
	}
	return Flock(LockFile(db.Dir(), name), false)
}

// LockWork takes the lock of a piece of work that spans many records (an
// up or down of one stack file, a resurrect), waiting for it: two of the
// same never interleave.
func (db *DB) LockWork(kind, key string) (unlock func(), err error) {
	unlock, _, err = Flock(workLockFile(db.Dir(), kind, key), true)
	return unlock, err
}

// Flock takes the exclusive flock of the file at path, creating it 0600
// without following a link; with wait false it does not wait, and ok is
// false when another process holds it. unlock releases it (the kernel does
// when the holder exits).
func Flock(path string, wait bool) (unlock func(), ok bool, err error) {
	f, _, err := OpenPrivate(path, os.O_RDWR)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	if ok, err = FlockFile(f, false, wait); !ok || err != nil {
		f.Close()
		if err != nil {
			err = fmt.Errorf("lock %s: %w", path, err)
		}
		return nil, false, err
	}
	return func() { f.Close() }, true, nil
}

// FlockFile takes the flock of the open file f: shared or exclusive, waiting
// for it or not (ok false when another process holds it). It is the one
// flock of bgrun: its locks, and the logs that rotations and followers
// share. Funlock, or closing f, releases it.
func FlockFile(f *os.File, shared, wait bool) (ok bool, err error) {
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// Funlock releases the flock of f.
func Funlock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// Held reports whether another process holds the flock of the file at
// path; a missing file is no lock.
func Held(path string) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	ok, err := FlockFile(f, true, false)
	return err == nil && !ok
}
