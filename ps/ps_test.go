//go:build unix

package ps

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bgrun/store"
)

func TestMembers(t *testing.T) {
	// 10 is our leader (session 10); 11 its child; 12 a grandchild that
	// called setsid; 13 an orphan left in session 10; 20 unrelated; 14 a
	// zombie of ours; 15 started before our leader (cannot be ours).
	procs := []Proc{
		{PID: 10, PPID: 1, SID: 10, StartTicks: 100, State: 'S'},
		{PID: 11, PPID: 10, SID: 10, StartTicks: 101, State: 'S'},
		{PID: 12, PPID: 11, SID: 12, StartTicks: 102, State: 'S'},
		{PID: 13, PPID: 1, SID: 10, StartTicks: 103, State: 'S'},
		{PID: 14, PPID: 10, SID: 10, StartTicks: 104, State: 'Z'},
		{PID: 15, PPID: 1, SID: 10, StartTicks: 50, State: 'S'},
		{PID: 20, PPID: 1, SID: 20, StartTicks: 105, State: 'S'},
	}
	tab := newTable(procs)
	if got := fmt.Sprint(tab.Members(10, 100)); got != "[10 11 12 13]" {
		t.Errorf("Members = %s, want [10 11 12 13]", got)
	}
	// The leader died: its session's members are still ours.
	tab = newTable(procs[1:])
	if got := fmt.Sprint(tab.Members(10, 100)); got != "[11 12 13]" {
		t.Errorf("after leader exit: %s", got)
	}
	// Pid 10 reused by another process: nothing there is ours.
	tab = newTable(append([]Proc{{PID: 10, PPID: 1, SID: 10, StartTicks: 999, State: 'S'}}, procs[1:]...))
	if got := tab.Members(10, 100); len(got) != 0 {
		t.Errorf("reused pid: %v", got)
	}
	if tab.Alive(10, 100) || !tab.Alive(10, 999) || tab.Alive(10, 0) {
		t.Error("Alive ignores the start time")
	}
	tab = newTable([]Proc{{PID: 10, SID: 10, StartTicks: 100, State: 'Z'}})
	if tab.Alive(10, 100) {
		t.Error("a zombie counts as alive")
	}
}

func TestReadSelf(t *testing.T) {
	p, ok := Read(os.Getpid())
	if !ok || p.PID != os.Getpid() || p.StartTicks == 0 || p.RSS <= 0 || p.PPID != os.Getppid() {
		t.Fatalf("Read(self) = %+v, %v", p, ok)
	}
	if _, ok := Read(1 << 30); ok {
		t.Fatal("Read of a pid that cannot exist succeeded")
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{fit("abcdef", 4, false), "abc…"},
		{fit("/very/long/path/here", 9, true), "/ver…here"},
		{fit("short", 9, true), "short"},
		{formatMemory(0), "-"},
		{formatMemory(5 << 20), "5 MB"},
		{formatMemory(3 << 30), "3.0 GB"},
		{formatDuration(59), "59s"},
		{formatDuration(3600 + 240), "1h 4m"},
		{formatDuration(2*86400 + 5*3600), "2d 5h"},
		{formatPorts([]int{3000, 8080}), ":3000,:8080"},
		{formatPorts(nil), "-"},
	} {
		if c.in != c.want {
			t.Errorf("got %q, want %q", c.in, c.want)
		}
	}
}

func TestTableFitsWidth(t *testing.T) {
	procs := []Process{{ID: 1, Name: "api", Status: "running", Running: true, PID: 42,
		Command: strings.Repeat("x", 200), Directory: "/" + strings.Repeat("d", 100), Ports: []int{3000}}}
	var b bytes.Buffer
	if err := writeTable(&b, procs, Style{Width: 80}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if n := len([]rune(line)); n > 80 && !strings.HasPrefix(line, "Total") {
			t.Errorf("line of %d runes is wider than 80: %s", n, line)
		}
	}
	if !strings.Contains(b.String(), "● Running") || !strings.Contains(b.String(), ":3000") {
		t.Errorf("table lacks status or port:\n%s", b.String())
	}
}

// BenchmarkList100 lists 100 records whose processes run, as `bgrun` does:
// one /proc scan and one port listing for all of them.
func BenchmarkList100(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "bgr.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var cmds []*exec.Cmd
	b.Cleanup(func() {
		for _, c := range cmds {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		}
	})
	for i := range 100 {
		c := exec.Command("sleep", "600")
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, c)
		p, _ := Read(c.Process.Pid)
		r := store.Record{Name: fmt.Sprintf("p%03d", i), PID: c.Process.Pid, StartTicks: p.StartTicks,
			Command: "sleep 600", Dir: "/", StdoutPath: "o", StderrPath: "e", Status: store.StatusRunning,
			StartedAt: time.Now()}
		if err := db.Put(&r); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("list", func(b *testing.B) {
		for b.Loop() {
			procs, err := List(b.Context(), db, Options{})
			if err != nil || len(procs) != 100 || !procs[99].Running {
				b.Fatalf("List: %d procs, %v", len(procs), err)
			}
		}
	})
	// The floor: one `ss -tlnpH` on the same machine, which List runs once.
	b.Run("ss-floor", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("ss", "-tlnpH").Run(); err != nil {
				b.Skip("ss:", err)
			}
		}
	})
}
