//go:build unix

package run

import (
	"os/exec"
	"syscall"
)

// killProbe ends a cmd: probe that ran out of time, with whatever it
// started in its session.
func killProbe(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
