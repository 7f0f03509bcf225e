//go:build unix

package run

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName serializes starts of one name across bgrun processes, so two
// starts at once cannot both spawn a process (one of which no record would
// know). The lock is an flock on a file beside the store: the kernel drops it
// when its holder exits, so a killed bgrun never leaves a stale lock.
func lockName(dbPath, name string) (unlock func(), err error) {
	dir := filepath.Join(filepath.Dir(dbPath), "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}
