package run

import (
	"os/exec"
	"syscall"
)

// probeSession puts a check in a session of its own, killed should the
// supervisor that runs it die first.
func probeSession(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}
