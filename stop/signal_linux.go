package stop

import (
	"errors"
	"syscall"

	"bgrun/ps"
)

const (
	sysPidfdOpen       = 434
	sysPidfdSendSignal = 424
)

// signal sends sig to pid only if pid is still the process that started at
// ticks. A pidfd pins the process before its start time is checked, so a pid
// reused in between can never receive the signal.
//
// A pid that is no process any more, or not one bgrun can pin (a thread id:
// pidfd_open answers ENOENT or EINVAL for a thread that does not lead its
// process), is not ours: nothing is signalled, and that is no error, so a
// stale pid in a record never makes it unmanageable.
func signal(pid int, ticks uint64, sig syscall.Signal) error {
	if pid <= 0 {
		return nil
	}
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	switch errno {
	case 0:
	case syscall.ENOSYS:
		return signalChecked(pid, ticks, sig)
	case syscall.ESRCH, syscall.ENOENT, syscall.EINVAL:
		return nil
	default:
		return errno
	}
	defer syscall.Close(int(fd))
	if !ps.Is(pid, ticks) {
		return nil // gone, or no longer ours
	}
	_, _, errno = syscall.Syscall6(sysPidfdSendSignal, fd, uintptr(sig), 0, 0, 0, 0)
	if errno != 0 && errno != syscall.ESRCH {
		return errno
	}
	return nil
}

// signalChecked is the fallback for kernels without pidfds: check the start
// time, then signal; the window between the two is a few microseconds.
func signalChecked(pid int, ticks uint64, sig syscall.Signal) error {
	if !ps.Is(pid, ticks) {
		return nil
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
