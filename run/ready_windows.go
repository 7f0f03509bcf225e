package run

import "os/exec"

// killProbe ends a cmd: probe that ran out of time.
func killProbe(cmd *exec.Cmd) error { return cmd.Process.Kill() }

// probeSession detaches a check as any process bgrun starts.
func probeSession(cmd *exec.Cmd) { detach(cmd) }
