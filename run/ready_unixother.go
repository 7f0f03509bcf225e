//go:build unix && !linux

package run

import "os/exec"

// probeSession puts a check in a session of its own.
func probeSession(cmd *exec.Cmd) { detach(cmd) }
