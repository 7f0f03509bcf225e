package stop

import (
	"syscall"
	"time"
	"unsafe"

	"bgrun/ps"
)

// waitExits waits until every process in members (pid to start time) has
// exited, or d has passed, without polling: each is pinned by a pidfd, which
// becomes readable when its process exits (a zombie has exited), and one
// ppoll(2) waits for them all. A pid that no pidfd can pin, or that is no
// longer the process that started at its time, counts as gone. Without
// pidfds (an old kernel) it falls back to short sleeps.
func waitExits(members map[int]uint64, d time.Duration) {
	fds := make([]pollFd, 0, len(members))
	defer func() {
		for _, p := range fds {
			syscall.Close(int(p.fd))
		}
	}()
	for pid, ticks := range members {
		fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
		if errno == syscall.ENOSYS {
			backoffWait(members, d)
			return
		}
		if errno != 0 {
			continue // gone, or not a process we can pin
		}
		if !ps.Is(pid, ticks) {
			syscall.Close(int(fd))
			continue
		}
		fds = append(fds, pollFd{fd: int32(fd), events: pollIn})
	}
	deadline := time.Now().Add(d)
	for len(fds) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		// ppoll, not poll: arm64 and riscv64 have no poll system call.
		ts := syscall.NsecToTimespec(int64(left))
		n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
			uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 || n == 0 {
			return
		}
		// Keep waiting for those that have not exited yet.
		rest := fds[:0]
		for _, p := range fds {
			if p.revents == 0 {
				rest = append(rest, pollFd{fd: p.fd, events: pollIn})
			} else {
				syscall.Close(int(p.fd))
			}
		}
		fds = rest
	}
}

// pollFd is struct pollfd of poll(2).
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const pollIn = 0x1
