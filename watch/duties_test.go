package watch

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bgrun/logs"
	"bgrun/ps"
	"bgrun/run"
	"bgrun/store"
)

// sleeper starts a real process in a session of its own, as bgrun starts
// its processes, and returns a running, guarded record of it.
func sleeper(t *testing.T, name string) store.Record {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	run.Detach(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Wait for the exec to finish (sleep sleeps): until then the child has
	// no memory of its own, and a memory check would see none.
	var p ps.Proc
	for deadline := time.Now().Add(10 * time.Second); p.State != 'S'; time.Sleep(time.Millisecond) {
		var ok bool
		if p, ok = ps.Read(cmd.Process.Pid); !ok || time.Now().After(deadline) {
			t.Fatalf("cannot read the sleeper: %+v, %v", p, ok)
		}
	}
	dir := t.TempDir()
	return store.Record{Name: name, PID: p.PID, PGID: p.PID, StartTicks: p.StartTicks, Status: store.StatusRunning,
		Guard: true, Dir: dir, StdoutPath: filepath.Join(dir, name+"-out.txt"),
		StderrPath: filepath.Join(dir, name+"-err.txt"), HealthInterval: time.Second}
}

// server is a real TCP listener that a test opens and closes, the target of
// tcp: health checks.
type server struct {
	t    *testing.T
	port int
	ln   net.Listener
}

func newServer(t *testing.T) *server {
	s := &server{t: t}
	s.open()
	t.Cleanup(s.close)
	return s
}

func (s *server) open() {
	addr := "127.0.0.1:0"
	if s.port != 0 {
		addr = "127.0.0.1:" + strconv.Itoa(s.port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.ln, s.port = ln, ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (s *server) close() {
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
}

func (s *server) spec() string { return "tcp:" + strconv.Itoa(s.port) }

// stepper calls Check at a clock the test moves, waiting for the health
// checks Check starts so that the next call counts them.
type stepper struct {
	t   *testing.T
	d   *dutyChecks
	now time.Time
}

func (s *stepper) check(rec store.Record, after time.Duration) (action, string) {
	s.t.Helper()
	s.now = s.now.Add(after)
	a, why := s.d.Check(context.Background(), rec, s.now)
	s.d.Wait()
	return a, why
}

// expect fails unless the next check gives want.
func (s *stepper) expect(rec store.Record, after time.Duration, want action) string {
	s.t.Helper()
	a, why := s.check(rec, after)
	if a != want {
		s.t.Fatalf("at +%v: action %v (%q), want %v", s.now.Sub(time.Time{}), a, why, want)
	}
	return why
}

func countingProbe(n *atomic.Int32) func(context.Context, string, string, []string) error {
	return func(ctx context.Context, spec, dir string, env []string) error {
		n.Add(1)
		return run.Probe(ctx, spec, dir, env)
	}
}

// TestDutiesHealthFailsThreeTimes restarts a guarded process only after its
// health check fails three times in a row, one interval apart.
func TestDutiesHealthFailsThreeTimes(t *testing.T) {
	srv := newServer(t)
	rec := sleeper(t, "api")
	rec.Ready = srv.spec()
	var probes atomic.Int32
	s := &stepper{t: t, d: &dutyChecks{Probe: countingProbe(&probes)}, now: time.Unix(1e9, 0)}

	s.expect(rec, 0, actionNone) // the start checked readiness: first probe one interval later
	if probes.Load() != 0 {
		t.Fatal("probed at once after a start")
	}
	s.expect(rec, time.Second, actionNone) // passes
	s.expect(rec, 500*time.Millisecond, actionNone)
	if probes.Load() != 1 {
		t.Fatalf("%d probes within one interval, want 1", probes.Load())
	}
	srv.close()
	s.expect(rec, 500*time.Millisecond, actionNone) // fails: 1
	s.expect(rec, time.Second, actionNone)          // fails: 2
	s.expect(rec, time.Second, actionNone)          // fails: 3, counted at the next check
	why := s.expect(rec, time.Second, actionRestartUnhealthy)
	if !strings.Contains(why, rec.Ready) || !strings.Contains(why, "3 times") {
		t.Errorf("reason %q names neither the check nor the count", why)
	}
	if actionRestartUnhealthy.Event() != "unhealthy" {
		t.Errorf("event %q", actionRestartUnhealthy.Event())
	}
}

// TestDutiesHealthPassResets never restarts a process whose failures are
// not in a row.
func TestDutiesHealthPassResets(t *testing.T) {
	srv := newServer(t)
	rec := sleeper(t, "api")
	rec.Ready = srv.spec()
	s := &stepper{t: t, d: &dutyChecks{}, now: time.Unix(1e9, 0)}
	s.expect(rec, 0, actionNone)
	srv.close()
	s.expect(rec, time.Second, actionNone) // fail 1
	s.expect(rec, time.Second, actionNone) // fail 2
	srv.open()
	s.expect(rec, time.Second, actionNone) // pass
	srv.close()
	s.expect(rec, time.Second, actionNone) // fail 1
	s.expect(rec, time.Second, actionNone) // fail 2
	s.expect(rec, time.Second, actionNone) // counted: still 2
}

// TestDutiesHealthNewProcess starts the count over when the record's
// process changes: the new one pays nothing for the old one's failures.
func TestDutiesHealthNewProcess(t *testing.T) {
	srv := newServer(t)
	old := sleeper(t, "api")
	old.Ready = srv.spec()
	srv.close()
	s := &stepper{t: t, d: &dutyChecks{}, now: time.Unix(1e9, 0)}
	s.expect(old, 0, actionNone)
	s.expect(old, time.Second, actionNone) // fail 1
	s.expect(old, time.Second, actionNone) // fail 2
	rec := sleeper(t, "api")               // restarted by someone
	rec.Ready = old.Ready
	s.expect(rec, time.Second, actionNone) // its first check is not due yet
	s.expect(rec, time.Second, actionNone) // fail 1
	s.expect(rec, time.Second, actionNone) // fail 2
	s.expect(rec, time.Second, actionNone) // fail 3, counted next
	s.expect(rec, time.Second, actionRestartUnhealthy)
}

// TestDutiesHealthOnlyGuardedRunning probes only a guarded record with a
// check whose process runs and has passed its start.
func TestDutiesHealthOnlyGuardedRunning(t *testing.T) {
	srv := newServer(t)
	var probes atomic.Int32
	s := &stepper{t: t, d: &dutyChecks{Probe: countingProbe(&probes)}, now: time.Unix(1e9, 0)}
	unguarded := sleeper(t, "a")
	unguarded.Guard, unguarded.Ready = false, srv.spec()
	unchecked := sleeper(t, "b")
	starting := sleeper(t, "c")
	starting.Ready, starting.Status = srv.spec(), store.StatusStarting
	gone := sleeper(t, "d")
	gone.Ready, gone.StartTicks = srv.spec(), gone.StartTicks+1 // its pid now names another process
	for range 5 {
		for _, r := range []store.Record{unguarded, unchecked, starting, gone} {
			s.expect(r, time.Second, actionNone)
		}
	}
	if n := probes.Load(); n != 0 {
		t.Fatalf("%d probes, want none", n)
	}
}

// TestDutiesMemoryOverTwice restarts a process whose tree stays above its
// limit for two memory checks, and not one that dips under it between.
func TestDutiesMemoryOverTwice(t *testing.T) {
	rec := sleeper(t, "api")
	rec.Guard = false // the memory limit holds without the guard too
	rec.MaxMemory = 1 // any process is over one byte
	s := &stepper{t: t, d: &dutyChecks{}, now: time.Unix(1e9, 0)}
	s.expect(rec, 0, actionNone)                             // over: 1
	s.expect(rec, memoryEvery/2, actionNone)                 // not due
	why := s.expect(rec, memoryEvery/2, actionRestartMemory) // over: 2
	if !strings.Contains(why, "max-memory 1") {
		t.Errorf("reason %q does not name the limit", why)
	}
	if actionRestartMemory.Event() != "max_memory" {
		t.Errorf("event %q", actionRestartMemory.Event())
	}

	s.expect(rec, memoryEvery, actionNone) // over: 1 again
	roomy := rec
	roomy.MaxMemory = 1 << 40
	s.expect(roomy, memoryEvery, actionNone) // under: back to 0
	s.expect(rec, memoryEvery, actionNone)   // over: 1
	s.expect(rec, memoryEvery, actionRestartMemory)
	s.expect(roomy, memoryEvery, actionNone)
}

// TestDutiesCheckAll decides for many records with one snapshot.
func TestDutiesCheckAll(t *testing.T) {
	a, b := sleeper(t, "a"), sleeper(t, "b")
	b.MaxMemory = 1
	d := &dutyChecks{}
	now := time.Unix(1e9, 0)
	if got := d.CheckAll(context.Background(), []store.Record{a, b}, now); len(got) != 0 {
		t.Fatalf("first check: %+v", got)
	}
	got := d.CheckAll(context.Background(), []store.Record{a, b}, now.Add(memoryEvery))
	if len(got) != 1 || got[0].Name != "b" || got[0].Action != actionRestartMemory {
		t.Fatalf("second check: %+v", got)
	}
	d.Wait()
}

// TestDutiesRotate rotates a record's logs at most every rotateEvery, for
// any record, running or not.
func TestDutiesRotate(t *testing.T) {
	rec := sleeper(t, "api")
	rec.Status, rec.LogMaxSize, rec.LogKeep = store.StatusStopped, 1<<20, 2
	big := strings.Repeat("0123456789abcde\n", 1<<17) // 2 MB
	if err := os.WriteFile(rec.StdoutPath, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	var rotations atomic.Int32
	d := &dutyChecks{Rotate: func(r store.Record) error { rotations.Add(1); return run.RotateLogs(r) }}
	s := &stepper{t: t, d: d, now: time.Unix(1e9, 0)}
	s.expect(rec, 0, actionNone)
	if fi, err := os.Stat(logs.RotatedPath(rec.StdoutPath, 1)); err != nil || fi.Size() > 1<<20 {
		t.Fatalf("rotated copy: %v, %v", fi, err)
	}
	// A collapse-range rotation keeps up to the cap and a block in the log.
	if fi, _ := os.Stat(rec.StdoutPath); fi.Size() > 1<<20+4096 {
		t.Fatalf("the log still holds %d bytes", fi.Size())
	}
	s.expect(rec, rotateEvery/2, actionNone)
	s.expect(rec, rotateEvery/2, actionNone)
	if n := rotations.Load(); n != 2 {
		t.Fatalf("%d rotation checks in %v, want 2", n, rotateEvery)
	}
}
