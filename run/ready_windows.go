package run

import "os/exec"

// killProbe ends a cmd: probe that ran out of time.
func killProbe(cmd *exec.Cmd) error { return cmd.Process.Kill() }
