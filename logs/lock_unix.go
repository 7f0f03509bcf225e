//go:build unix

package logs

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an advisory lock on f without waiting; false when another
// process holds it. Processes that write the log do not lock it, so only
// rotations exclude each other.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// lockShared takes a shared lock on f, waiting for a rotation under way: a
// follower reading the file holds rotations off meanwhile.
func lockShared(f *os.File) {
	for syscall.Flock(int(f.Fd()), syscall.LOCK_SH) == syscall.EINTR {
	}
}

func unlock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
