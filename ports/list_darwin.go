package ports

import (
	"context"
	"os/exec"
)

// List returns every TCP socket in LISTEN state on the machine, from one run of
// `lsof -nP -iTCP -sTCP:LISTEN`, the tool macOS ships (it has no ss, and its netstat shows no
// owners). Without root, lsof shows only the caller's own processes.
func List(ctx context.Context) ([]Listener, error) {
	return listLsof(ctx)
}

// prepare adjusts a command before it runs; macOS needs nothing.
func prepare(*exec.Cmd) {}
