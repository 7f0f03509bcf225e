package stop

import (
	"os"
	"syscall"

	"bgrun/ps"
)

// signal ends pid if it is still the process that started at ticks. Windows
// has no SIGTERM for console-less processes; both signals terminate.
func signal(pid int, ticks uint64, sig syscall.Signal) error {
	if !ps.Is(pid, ticks) {
		return nil
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	return proc.Kill()
}
