//go:build unix && !linux

package stop

import (
	"errors"
	"syscall"

	"bgrun/ps"
)

// signal sends sig to pid only if pid is still the process that started at
// ticks (checked just before; this platform has no pidfds).
func signal(pid int, ticks uint64, sig syscall.Signal) error {
	if !ps.Is(pid, ticks) {
		return nil
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
