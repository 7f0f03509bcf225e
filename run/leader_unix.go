//go:build unix

package run

import (
	"os/exec"
	"syscall"
)

// reap collects the exit status of cmd's process if it has ended, without
// waiting. cmd.Wait is never called: one goroutine blocked in wait per
// process would cost a thread each.
func reap(cmd *exec.Cmd) (code int, sig string, ok bool) {
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(cmd.Process.Pid, &ws, syscall.WNOHANG, nil)
	if err == syscall.EINTR {
		return 0, "", false
	}
	if err != nil {
		// ECHILD: someone else collected it; its status is lost.
		cmd.Process.Release()
		return -1, "", true
	}
	if pid == 0 {
		return 0, "", false
	}
	cmd.Process.Release()
	if ws.Signaled() {
		return -1, signalName(ws.Signal()), true
	}
	return ws.ExitStatus(), "", true
}
