package ps

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestReadStatAndMarker reads a real process whose command name holds
// spaces and parentheses, and whose environment is larger than the first
// buffer a marker read tries, with the marker at its end.
func TestReadStatAndMarker(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("needs sleep")
	}
	odd := filepath.Join(t.TempDir(), "a) (b c")
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(odd, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(odd, "100000")
	cmd.Env = []string{"BIG=" + strings.Repeat("x", 40<<10), MarkerVar + "=7.abc"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	// Wait for the exec to finish: the new program sleeps.
	var p Proc
	for deadline := time.Now().Add(10 * time.Second); p.State != 'S'; time.Sleep(time.Millisecond) {
		var ok bool
		if p, ok = Read(pid); !ok || time.Now().After(deadline) {
			t.Fatalf("Read(%d) = %+v, %v", pid, p, ok)
		}
	}
	if p.PID != pid || p.PPID != os.Getpid() || p.SID != pid || p.PGID != pid || p.StartTicks == 0 || p.RSS <= 0 {
		t.Errorf("Read(%d) = %+v", pid, p)
	}
	if m := readMarker(pid); m != "7.abc" {
		t.Errorf("marker %q, want 7.abc", m)
	}
	if m := readMarker(os.Getpid()); m != os.Getenv(MarkerVar) {
		t.Errorf("own marker %q", m)
	}
	tab, err := Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := tab.Get(pid); !ok || q.PPID != p.PPID || q.SID != p.SID || q.StartTicks != p.StartTicks {
		t.Errorf("Snapshot has %+v, %v; Read %+v", q, ok, p)
	}
	// Ended: a zombie's environment is empty, a reaped one's is no more.
	cmd.Process.Kill()
	for deadline := time.Now().Add(10 * time.Second); p.State != 'Z'; time.Sleep(time.Millisecond) {
		var ok bool
		if p, ok = Read(pid); !ok || time.Now().After(deadline) {
			t.Fatalf("Read(%d) = %+v, %v; want a zombie", pid, p, ok)
		}
	}
	if m := readMarker(pid); m != unknown {
		t.Errorf("marker of a zombie %q, want unknown", m)
	}
	cmd.Wait()
	if m := readMarker(pid); m != unknown {
		t.Errorf("marker of a reaped process %q, want unknown", m)
	}
	// No environment at all reads as one not known yet (a process in an
	// exec reads so).
	bare := exec.Command(sleep, "100000")
	bare.Env = []string{}
	if err := bare.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { bare.Process.Kill(); bare.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if q, ok := Read(bare.Process.Pid); ok && q.State == 'S' {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("Read(%d) = %+v, %v", bare.Process.Pid, q, ok)
		}
	}
	if m := readMarker(bare.Process.Pid); m != unknown {
		t.Errorf("marker of a process with no environment %q, want unknown", m)
	}
	if _, ok := Read(1 << 30); ok {
		t.Error("Read of a pid that cannot exist found something")
	}
}

// TestShared: callers that ask together share one snapshot, which also
// serves a caller whose moment came before it began; a caller whose moment
// came after it began gets a new one.
func TestShared(t *testing.T) {
	var s Shared
	before := time.Now()
	first, err := s.After(before)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.After(before)
	if again.marks != first.marks {
		t.Error("a snapshot begun after the moment was not shared")
	}
	later, _ := s.After(time.Now())
	if later.marks == first.marks {
		t.Error("a snapshot begun before the moment was handed out")
	}
	// Many at once, then their marker reads, race-free.
	var wg sync.WaitGroup
	got := make([]Table, 16)
	since := time.Now()
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = s.After(since)
			got[i].MembersOf(Owner{PID: os.Getpid(), Ticks: 1, Instance: "x"}, true)
		}()
	}
	wg.Wait()
	tables := map[*markers]bool{}
	for _, g := range got {
		tables[g.marks] = true
	}
	if len(tables) != 1 {
		t.Errorf("%d callers with one moment took %d snapshots, want 1", len(got), len(tables))
	}
	var nilShared *Shared
	if _, err := nilShared.After(time.Now()); err != nil {
		t.Error(err)
	}
}
