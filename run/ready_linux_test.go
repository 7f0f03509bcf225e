package run

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// processRuns reports whether pid exists and is not a zombie.
func processRuns(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

// TestProbeCmdTimeout ends a probe that hangs, with what it started, when
// its context ends.
func TestProbeCmdTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	done := make(chan error, 1)
	go func() { done <- Probe(ctx, "cmd:sleep 60 & echo $! > "+pidFile+"; wait", "", nil) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a hanging probe passed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a hanging probe was not ended")
	}
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		t.Fatal("the probe did not start its child")
	}
	deadline := time.Now().Add(5 * time.Second)
	for processRuns(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the probe's child %d runs on", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
