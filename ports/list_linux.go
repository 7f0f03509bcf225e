package ports

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
)

// List returns every TCP socket in LISTEN state on the machine, from one run of `ss -tlnpH`.
// Where ss is not installed (a minimal container image), it reads /proc instead, which gives
// the same sockets and owners (see listProc); lsof would be a second tool that such images
// lack just as often. Without root, both show owners only for the caller's own processes.
func List(ctx context.Context) ([]Listener, error) {
	return listSS(ctx, "ss")
}

// listSS is List with the ss command named, so that a test can take the fallback path.
func listSS(ctx context.Context, ss string) ([]Listener, error) {
	out, err := command(ctx, toolPath(ss, sbinDirs...), "-tlnpH")
	if errors.Is(err, exec.ErrNotFound) {
		ls, perr := listProc(ctx)
		if perr != nil {
			return nil, fmt.Errorf("list listening ports: %s not found, and /proc: %w", ss, perr)
		}
		return ls, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list listening ports: %w", err)
	}
	return parseSS(out), nil
}

// prepare adjusts a command before it runs; Linux needs nothing.
func prepare(*exec.Cmd) {}
