package ps

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	if _, ok := Read(1 << 30); ok {
		t.Error("Read of a pid that cannot exist found something")
	}
}
