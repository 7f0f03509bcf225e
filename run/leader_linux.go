package run

import (
	"os"
	"syscall"

	"bgrun/ps"
)

// sysPidfdOpen is pidfd_open(2), the same number on every architecture.
const sysPidfdOpen = 434

// start waits for the leader's end on a non-blocking pidfd, which Go's
// poller watches: a parked goroutine per leader, no thread. Where pidfds are
// missing (kernels before 5.3) it polls.
func (l *Leader) start() {
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(l.PID), uintptr(syscall.O_NONBLOCK), 0)
	if errno != 0 {
		go l.poll()
		return
	}
	f := os.NewFile(fd, "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		go l.poll()
		return
	}
	if !l.Child {
		// The pid may have been reused between reading it and opening the
		// pidfd: check the start time now that the pidfd pins the process.
		if !ps.Alive(l.PID, l.Ticks) {
			f.Close()
			l.finish(-1, "", false)
			return
		}
	}
	go func() {
		defer f.Close()
		// The pidfd turns readable when the process ends; check confirms it.
		err := rc.Read(func(uintptr) bool { return l.check() })
		if err != nil {
			l.poll()
		}
	}()
}
