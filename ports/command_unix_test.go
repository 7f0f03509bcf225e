//go:build unix

package ports

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCommandErrorNamesCommand(t *testing.T) {
	_, err := command(context.Background(), "sh", "-c", "echo boom >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "run sh -c") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error = %v, want the command line and its stderr", err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("error %v does not wrap the exit status", err)
	}
	_, err = command(context.Background(), "bgrun-no-such-tool")
	if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "bgrun-no-such-tool") {
		t.Errorf("error = %v, want not found, naming the tool", err)
	}
}

func TestToolPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bgrun-fake-tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, want string }{
		{"sh", "sh"}, // in PATH: left for exec to resolve
		{"bgrun-fake-tool", filepath.Join(dir, "bgrun-fake-tool")},
		{"bgrun-no-such-tool", "bgrun-no-such-tool"},
	}
	for _, tt := range tests {
		if got := toolPath(tt.name, "/nonexistent", dir); got != tt.want {
			t.Errorf("toolPath(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLsofFoundNothing(t *testing.T) {
	tests := []struct {
		script string
		want   bool
	}{
		{"exit 1", true},
		{"echo 'lsof: WARNING: cannot stat() fuse file system' >&2; exit 1", true},
		{"echo 'lsof: unsupported option' >&2; exit 1", false},
		{"echo 'x 1 root 3u IPv4 1 0t0 TCP *:80 (LISTEN)'; exit 1", false},
		{"exit 2", false},
	}
	for _, tt := range tests {
		out, err := command(context.Background(), "sh", "-c", tt.script)
		if got := lsofFoundNothing(out, err); got != tt.want {
			t.Errorf("lsofFoundNothing after %q = %v, want %v", tt.script, got, tt.want)
		}
	}
}

// TestListLsof runs the macOS path on this machine, where lsof is usually installed too.
func TestListLsof(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("lsof"); err != nil {
		t.Skip("lsof is not installed")
	}
	_, port := holdLoopback(t)
	ls, err := listLsof(context.Background())
	if err != nil {
		t.Fatalf("listLsof: %v", err)
	}
	if got := Holders(ls, port); !slices.Equal(got, []int{os.Getpid()}) {
		t.Fatalf("lsof holders of %d = %v, want [%d]", port, got, os.Getpid())
	}
}
