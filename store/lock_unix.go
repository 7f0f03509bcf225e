//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Lock takes the lock of the record named name, waiting for it: every
// operation that changes a record (start, restart, stop, delete, clean, nuke,
// guard on and off, a supervisor's restart) holds it, so two of them never
// interleave and none leaves a process that no record knows. The lock is an
// flock on a file beside the store: the kernel drops it when its holder
// exits, so a killed bgrun never leaves a stale lock. A process must not
// take the same name's lock twice: the second wait never ends.
func (db *DB) Lock(name string) (unlock func(), err error) {
	unlock, _, err = db.lock(name, true)
	return unlock, err
}

// TryLock takes the lock of the record named name if no one holds it; ok is
// false (and unlock nil) when someone does.
func (db *DB) TryLock(name string) (unlock func(), ok bool, err error) {
	return db.lock(name, false)
}

func (db *DB) lock(name string, wait bool) (func(), bool, error) {
	if err := ValidateName(name); err != nil {
		return nil, false, err
	}
	f, _, err := OpenPrivate(LockFile(db.Dir(), name), os.O_RDWR)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	how := syscall.LOCK_EX
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
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() { f.Close() }, true, nil
}
