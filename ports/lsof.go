package ports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// lsofArgs ask lsof for TCP sockets in LISTEN state, with numeric hosts (-n) and ports (-P) so
// that it neither waits on DNS nor prints "http" for 80.
var lsofArgs = []string{"-nP", "-iTCP", "-sTCP:LISTEN"}

// sbinDirs are where Unix systems install ss and lsof, searched when PATH misses them.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"}

// listLsof lists listeners with lsof. It is List on macOS and on Unix systems without a
// dedicated method, and is compiled everywhere so that the Linux tests can run it too.
func listLsof(ctx context.Context) ([]Listener, error) {
	out, err := command(ctx, toolPath("lsof", sbinDirs...), lsofArgs...)
	if err != nil && !lsofFoundNothing(out, err) {
		return nil, fmt.Errorf("list listening ports: %w", err)
	}
	return parseLsof(out), nil
}

// lsofFoundNothing reports whether a failed lsof run only means that no socket matched: lsof
// exits with status 1 both for "nothing found" and for real errors, and tells them apart only
// by what it prints. Empty output with nothing but warnings on stderr is "nothing found".
func lsofFoundNothing(out []byte, err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || len(bytes.TrimSpace(out)) != 0 {
		return false
	}
	for line := range bytes.Lines(ee.Stderr) {
		s := strings.TrimSpace(string(line))
		if s != "" && !strings.Contains(s, "WARNING") {
			return false
		}
	}
	return true
}
