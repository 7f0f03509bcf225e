//go:build linux

package run

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bgrun/ps"
	"bgrun/stop"
	"bgrun/store"
)

// launch starts command as bgrun does and returns its record and the leader
// followed.
func launch(t *testing.T, command string) (*store.Record, *Leader) {
	t.Helper()
	dir := t.TempDir()
	rec := &store.Record{Name: "t", Command: command, Dir: dir,
		StdoutPath: filepath.Join(dir, "out.txt"), StderrPath: filepath.Join(dir, "err.txt")}
	os.WriteFile(rec.StderrPath, []byte("an earlier attempt\n"), 0o600)
	cmd, err := Launch(rec, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop.TreeOf(ps.OwnerOf(*rec), time.Second) })
	return rec, follow(cmd, rec)
}

func alive(rec *store.Record) bool {
	tb, err := ps.Snapshot()
	return err == nil && len(tb.Members(rec.PID, rec.StartTicks)) > 0
}

func TestStartupGood(t *testing.T) {
	rec, l := launch(t, "exec sleep 30")
	if err := WaitStartup(l, rec, 200*time.Millisecond); err != nil {
		t.Fatalf("a process that runs through its window: %v", err)
	}
	if l.Ended() || !alive(rec) {
		t.Fatal("it should still run")
	}
}

func TestStartupDaemonizes(t *testing.T) {
	rec, l := launch(t, "sleep 30 & exit 0")
	if err := WaitStartup(l, rec, 2*time.Second); err != nil {
		t.Fatalf("exit 0 leaving the tree running is a good start: %v", err)
	}
	if !l.Ended() || !alive(rec) {
		t.Fatal("the leader should be gone and its tree running")
	}
}

func TestStartupFails(t *testing.T) {
	rec, l := launch(t, "echo this attempt >&2; exit 7")
	err := WaitStartup(l, rec, 2*time.Second)
	var se *StartupError
	if !errors.As(err, &se) || se.Code != 7 {
		t.Fatalf("want a startup error with code 7, got %v", err)
	}
	if se.StderrTail != "this attempt" {
		t.Fatalf("want only this attempt's stderr, got %q", se.StderrTail)
	}
	if rec.ExitCode != 7 {
		t.Fatalf("record: code %d", rec.ExitCode)
	}
}

func TestStartupFailsLeavingTree(t *testing.T) {
	// A nonzero exit is a failed start even when the tree runs on; what is
	// left is ended, so nothing runs that the failed record does not show.
	rec, l := launch(t, "sleep 30 & exit 3")
	rec.StopTimeout = time.Second
	err := WaitStartup(l, rec, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("want a failed start, got %v", err)
	}
	if alive(rec) {
		t.Fatal("the rest of the tree should be ended")
	}
}

func TestAdoptedExitIsUnknown(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	Detach(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p, _ := ps.Read(cmd.Process.Pid)
	l := Adopt(cmd.Process.Pid, p.StartTicks)
	if l.Ended() {
		t.Fatal("ended too early")
	}
	ended := make(chan struct{})
	l.OnEnd(func() { close(ended) })
	cmd.Process.Kill()
	cmd.Wait()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the end of an adopted leader was not seen")
	}
	if code, sig, known, _ := l.Exit(); known || code != -1 || sig != "" {
		t.Fatalf("an adopted leader's status is unknown, got %d %q %v", code, sig, known)
	}
	// A pid whose start time differs is not the leader: it counts as ended.
	if !Adopt(os.Getpid(), p.StartTicks+1).Ended() {
		t.Fatal("a reused pid must count as ended")
	}
}

// WaitStartup waits out the startup window (the tests' shorthand) of a start that spawn made and l
// follows, counted from the spawn. A leader that ends in the window is a failed start, unless it
// exited 0 and left its tree running (a command that daemonizes, or `docker
// run -d`): then the start is good and its tree is what runs. A failed start
// sets rec's status and exit, ends what is left of its tree, and returns a
// *StartupError with this attempt's stderr (written after rec.StderrOffset). It is
// the one startup rule of the CLI, the dashboard and the supervisor.
func WaitStartup(l *Leader, rec *store.Record, window time.Duration) error {
	_, err := waitListening(context.Background(), l, rec, window)
	return err
}
