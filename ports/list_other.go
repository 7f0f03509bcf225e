//go:build !linux && !darwin && !windows

package ports

import (
	"context"
	"os/exec"
)

// List returns every TCP socket in LISTEN state on the machine, from one run of
// `lsof -nP -iTCP -sTCP:LISTEN`: on the BSDs and other Unix systems lsof is the one listing
// whose format is the same everywhere.
func List(ctx context.Context) ([]Listener, error) {
	return listLsof(ctx)
}

// prepare adjusts a command before it runs; these systems need nothing.
func prepare(*exec.Cmd) {}
