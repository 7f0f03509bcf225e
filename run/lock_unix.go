//go:build unix

package run

import (
	"fmt"
	"os"
	"syscall"

	"bgrun/store"
)

// lockName serializes starts of one name across bgrun processes, so two
// starts at once cannot both spawn a process (one of which no record would
// know). The lock is an flock on a file in the store's folder: the kernel drops it
// when its holder exits, so a killed bgrun never leaves a stale lock.
func lockName(dbPath, name string) (unlock func(), err error) {
	f, _, err := store.OpenPrivate(store.LockFile(store.Folder(dbPath), name), os.O_RDWR)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}
