package ports

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sample is a listing with each case the helpers must handle: a pid on two families, a pid
// with two ports, a shared socket and an unknown owner.
var sample = []Listener{
	L("127.0.0.1", 8080, 10),
	L("::1", 8080, 10), // same pid, same port, other family
	L("127.0.0.1", 9090, 10),
	L("127.0.0.1", 5432, 30),
	L("127.0.0.1", 5432, 20), // shared socket
	L("0.0.0.0", 2024, 0),    // owner not visible
	L("*", 7000, 40),
}

func TestPortsOf(t *testing.T) {
	tests := []struct {
		pids map[int]bool
		want []int
	}{
		{map[int]bool{10: true}, []int{8080, 9090}},
		{map[int]bool{10: true, 20: true, 40: true}, []int{5432, 7000, 8080, 9090}},
		{map[int]bool{10: false}, nil},
		{map[int]bool{0: true}, nil}, // an unknown owner is never ours
		{nil, nil},
	}
	for _, tt := range tests {
		if got := PortsOf(sample, tt.pids); !slices.Equal(got, tt.want) {
			t.Errorf("PortsOf(%v) = %v, want %v", tt.pids, got, tt.want)
		}
	}
}

func TestHoldersAndBusy(t *testing.T) {
	tests := []struct {
		port int
		pids []int
		busy bool
	}{
		{8080, []int{10}, true},
		{5432, []int{20, 30}, true},
		{2024, nil, true}, // busy though nobody visible holds it
		{1, nil, false},
		{0, nil, false},
	}
	for _, tt := range tests {
		if got := Holders(sample, tt.port); !slices.Equal(got, tt.pids) {
			t.Errorf("Holders(%d) = %v, want %v", tt.port, got, tt.pids)
		}
		if got := Busy(sample, tt.port); got != tt.busy {
			t.Errorf("Busy(%d) = %v, want %v", tt.port, got, tt.busy)
		}
	}
	if Busy(nil, 80) || Holders(nil, 80) != nil || PortsOf(nil, map[int]bool{1: true}) != nil {
		t.Error("an empty listing must hold nothing")
	}
}

func TestBusyErrorMessage(t *testing.T) {
	tests := []struct {
		err  BusyError
		want string
	}{
		{BusyError{Port: 80, PIDs: []int{12}, Waited: time.Second}, "port 80 still in use after 1s by pid 12"},
		{BusyError{Port: 80, PIDs: []int{12, 34}, Waited: time.Second}, "port 80 still in use after 1s by pids 12, 34"},
		{BusyError{Port: 80, Waited: time.Second}, "port 80 still in use after 1s (owner not visible)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// listOrSkip runs List, skipping the test where this OS lacks the listing tool.
func listOrSkip(t *testing.T) []Listener {
	t.Helper()
	ls, err := List(context.Background())
	if errors.Is(err, exec.ErrNotFound) {
		t.Skipf("no listing tool here: %v", err)
	}
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return ls
}

func TestListFindsOwnListeners(t *testing.T) {
	t.Parallel()
	lns, port := holdLoopback(t)
	ls := listOrSkip(t)
	for _, ln := range lns {
		addr := ln.Addr().(*net.TCPAddr).IP.String()
		want := Listener{Addr: addr, Port: port, PID: os.Getpid()}
		if !slices.Contains(ls, want) {
			t.Errorf("List lacks %+v; for that port it has %v", want, on(ls, port))
		}
	}
	if got := Holders(ls, port); !slices.Equal(got, []int{os.Getpid()}) {
		t.Errorf("Holders = %v, want [%d]", got, os.Getpid())
	}
	if got := PortsOf(ls, map[int]bool{os.Getpid(): true}); !slices.Contains(got, port) {
		t.Errorf("PortsOf(own pid) = %v, lacks %d", got, port)
	}
}

// on returns the listeners of ls on port, for failure messages.
func on(ls []Listener, port int) []Listener {
	var r []Listener
	for _, l := range ls {
		if l.Port == port {
			r = append(r, l)
		}
	}
	return r
}

func TestListFindsChild(t *testing.T) {
	t.Parallel()
	cmd, port := startListener(t)
	ls := listOrSkip(t)
	if got := Holders(ls, port); !slices.Equal(got, []int{cmd.Process.Pid}) {
		t.Fatalf("Holders(%d) = %v, want the child's pid [%d]", port, got, cmd.Process.Pid)
	}
}

func TestWaitFreeTimesOutNamingHolder(t *testing.T) {
	t.Parallel()
	cmd, port := startListener(t)
	listOrSkip(t)
	start := time.Now()
	err := WaitFree(context.Background(), port, 300*time.Millisecond)
	var be *BusyError
	if !errors.As(err, &be) {
		t.Fatalf("WaitFree = %v, want a *BusyError", err)
	}
	if !slices.Equal(be.PIDs, []int{cmd.Process.Pid}) || be.Port != port {
		t.Errorf("BusyError = %+v, want port %d held by [%d]", be, port, cmd.Process.Pid)
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("error %q does not name pid %d", err, cmd.Process.Pid)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("WaitFree gave up after %v, before its timeout", waited)
	}
}

// waitDone returns what WaitFree sent on done, failing if it takes longer than within.
func waitDone(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Fatalf("WaitFree did not return within %v", within)
		return nil
	}
}

// stillWaiting fails if WaitFree returns within d, while the port is still held.
func stillWaiting(t *testing.T, done <-chan error, d time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("WaitFree returned %v while the port was held", err)
	case <-time.After(d):
	}
}

func TestWaitFreeReturnsWhenListenerCloses(t *testing.T) {
	t.Parallel()
	lns, port := holdLoopback(t)
	listOrSkip(t)
	done := make(chan error, 1)
	go func() { done <- WaitFree(context.Background(), port, time.Minute) }()
	stillWaiting(t, done, 300*time.Millisecond)
	for _, ln := range lns {
		ln.Close()
	}
	if err := waitDone(t, done, 10*time.Second); err != nil {
		t.Fatalf("WaitFree after close = %v", err)
	}
}

func TestWaitFreeReturnsWhenChildExits(t *testing.T) {
	t.Parallel()
	cmd, port := startListener(t)
	listOrSkip(t)
	done := make(chan error, 1)
	go func() { done <- WaitFree(context.Background(), port, time.Minute) }()
	stillWaiting(t, done, 300*time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	if err := waitDone(t, done, 10*time.Second); err != nil {
		t.Fatalf("WaitFree after the child died = %v", err)
	}
}

func TestWaitFreeFreePort(t *testing.T) {
	t.Parallel()
	listOrSkip(t)
	lns, port := holdLoopback(t)
	for _, ln := range lns {
		ln.Close()
	}
	if err := WaitFree(context.Background(), port, 0); err != nil {
		t.Fatalf("WaitFree on a closed port = %v", err)
	}
}

func TestWaitFreeContextEnds(t *testing.T) {
	t.Parallel()
	_, port := holdLoopback(t)
	listOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := WaitFree(ctx, port, time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFree = %v, want the context's deadline", err)
	}
}

func TestWaitFreeInvalidPort(t *testing.T) {
	for _, port := range []int{-1, 0, 65536} {
		if err := WaitFree(context.Background(), port, time.Second); err == nil {
			t.Errorf("WaitFree(%d) = nil, want an error", port)
		}
	}
}

func BenchmarkList(b *testing.B) {
	if _, err := List(context.Background()); err != nil {
		b.Skipf("List: %v", err)
	}
	for b.Loop() {
		if _, err := List(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSS(b *testing.B) {
	out := readFixture(b, "ss-500.txt")
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if ls := parseSS(out); len(ls) != 501 {
			b.Fatalf("got %d listeners", len(ls))
		}
	}
}
