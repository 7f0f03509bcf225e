package run

import (
	"os/exec"

	"bgrun/ps"
)

// reap collects the exit status of cmd's process once it has ended.
func reap(cmd *exec.Cmd) (code int, sig string, ok bool) {
	if p, alive := ps.Read(cmd.Process.Pid); alive && p.State != 'Z' {
		return 0, "", false
	}
	cmd.Wait()
	if cmd.ProcessState == nil {
		return -1, "", true
	}
	code, sig = exitStatus(cmd.ProcessState)
	return code, sig, true
}
