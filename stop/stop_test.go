//go:build unix

package stop

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bgrun/ps"
	"bgrun/store"
)

// startTree starts `sh -c script` in a session of its own, as bgrun does,
// and returns its pid and start time; the test kills what is left.
func startTree(t *testing.T, script string) (int, uint64) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	pid := cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) })
	p, ok := ps.Read(pid)
	if !ok {
		t.Fatal("started process not found")
	}
	return pid, p.StartTicks
}

func alive(pid int, ticks uint64) bool {
	p, ok := ps.Read(pid)
	return ok && p.StartTicks == ticks && p.State != 'Z'
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}

// TestSignalChecksStartTime: a pid whose start time differs from the one
// recorded is another process, and is never signalled.
func TestSignalChecksStartTime(t *testing.T) {
	pid, ticks := startTree(t, "exec sleep 60")
	if err := signal(pid, ticks+1, sigKill); err != nil {
		t.Fatal(err)
	}
	if !alive(pid, ticks) {
		t.Fatal("a process with another start time was killed")
	}
	if err := signal(pid, ticks, sigKill); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !alive(pid, ticks) })
}

// TestTreeEscalates: members that ignore SIGTERM get SIGKILL after the
// timeout, grandchildren included, and TreeOf returns only when all are gone.
func TestTreeEscalates(t *testing.T) {
	pid, ticks := startTree(t, `trap "" TERM; sh -c 'trap "" TERM; sleep 60' & sleep 60 & wait`)
	var members []int
	waitFor(t, func() bool {
		tab, _ := ps.Snapshot()
		members = tab.Members(pid, ticks)
		return len(members) >= 4 // sh, sh, sleep, sleep
	})
	res, err := TreeOf(ps.Owner{PID: pid, Ticks: ticks}, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Killed) == 0 {
		t.Fatalf("nothing needed SIGKILL: %+v", res)
	}
	tab, _ := ps.Snapshot()
	if left := tab.Members(pid, ticks); len(left) > 0 {
		t.Fatalf("members left after Tree: %v", left)
	}
}

// TestTreeLeavesOthers: a process outside the tree survives a stop.
func TestTreeLeavesOthers(t *testing.T) {
	pid, ticks := startTree(t, "sleep 60")
	other, oticks := startTree(t, "sleep 60")
	if _, err := TreeOf(ps.Owner{PID: pid, Ticks: ticks}, time.Second); err != nil {
		t.Fatal(err)
	}
	if !alive(other, oticks) {
		t.Fatal("a process of another tree was stopped")
	}
}

// TestKillPortRefusesItself: bgrun never kills itself for a port.
func TestKillPortRefusesItself(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = killPort(t.Context(), port, Options{Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "bgrun itself") {
		t.Fatalf("KillPort of our own port: %v", err)
	}
	if _, err := killPort(t.Context(), 0, Options{}); err == nil {
		t.Fatal("port 0 accepted")
	}
}

// TestStopKeepsRecord: Stop ends the tree, marks the record stopped with
// its last signal, and keeps it; Delete removes it and its logs.
func TestStopKeepsRecord(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "bgr.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pid, ticks := startTree(t, "sleep 60")
	r := store.Record{Name: "svc", PID: pid, PGID: pid, StartTicks: ticks, Command: "sleep 60", Dir: "/",
		StdoutPath: filepath.Join(t.TempDir(), "o"), StderrPath: filepath.Join(t.TempDir(), "e"),
		Status: store.StatusRunning, StartedAt: time.Now()}
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	res, err := Stop(t.Context(), db, "svc", Options{Timeout: time.Second})
	if err != nil || !res.WasRunning {
		t.Fatalf("Stop = %+v, %v", res, err)
	}
	if alive(pid, ticks) {
		t.Fatal("still running after Stop")
	}
	got, err := db.Get("svc")
	if err != nil || got.Status != store.StatusStopped || got.ExitSignal != "SIGTERM" {
		t.Fatalf("record after Stop: %+v, %v", got, err)
	}
	if res, err := Stop(t.Context(), db, "svc", Options{}); err != nil || res.WasRunning {
		t.Fatalf("second Stop = %+v, %v", res, err)
	}
	if _, err := Delete(t.Context(), db, "svc", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get("svc"); err == nil {
		t.Fatal("record kept after Delete")
	}
}

// TestStopGivesUpWhenCancelled: a stop whose context ends (Ctrl-C) returns
// at its next look, however long its timeout, and leaves a record that tells
// the truth: a process that outlived its SIGTERM is still shown running,
// no longer wanted nor supervised, and a later stop ends it.
func TestStopGivesUpWhenCancelled(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "bgr.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pid, ticks := startTree(t, "trap '' TERM; while :; do sleep 1; done")
	waitFor(t, func() bool { // a sleep runs: the trap is set
		tab, err := ps.Snapshot()
		return err == nil && len(tab.Members(pid, ticks)) > 1
	})
	r := store.Record{Name: "svc", PID: pid, PGID: pid, StartTicks: ticks, Command: "x", Dir: "/",
		StdoutPath: filepath.Join(t.TempDir(), "o"), StderrPath: filepath.Join(t.TempDir(), "e"),
		Status: store.StatusRunning, StartedAt: time.Now(), Wanted: true}
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Stop(ctx, db, "svc", Options{Timeout: time.Hour}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop with an ended context = %v, want context.Canceled", err)
	}
	if !alive(pid, ticks) {
		t.Fatal("a process that ignores SIGTERM ended before its timeout")
	}
	// The record was marked stopped (out of supervision) before the signal;
	// what runs is shown from the OS.
	got, err := db.Get("svc")
	if err != nil || got.Wanted {
		t.Fatalf("record after an interrupted stop: %+v, %v", got, err)
	}
	if p, err := ps.Get(t.Context(), db, "svc"); err != nil || !p.Running || p.Status != store.StatusStopping {
		t.Fatalf("shown after an interrupted stop: %+v, %v", p, err)
	}
	if res, err := Stop(t.Context(), db, "svc", Options{Timeout: 100 * time.Millisecond}); err != nil || !res.WasRunning {
		t.Fatalf("second Stop = %+v, %v", res, err)
	}
	if got, err := db.Get("svc"); err != nil || got.Status != store.StatusStopped || got.ExitSignal != "SIGKILL" {
		t.Fatalf("record after the second stop: %+v, %v", got, err)
	}
	if alive(pid, ticks) {
		t.Fatal("still running after the second stop")
	}
}
