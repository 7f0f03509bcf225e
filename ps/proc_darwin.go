package ps

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"time"
)

// ClockTicks is the unit of CPUTicks on macOS, where times come from ps(1).
// StartTicks there are Unix seconds.
const ClockTicks = 100

// Snapshot lists every process with ps(1); macOS has no /proc.
func Snapshot() (Table, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ps", "-axo", "pid=,ppid=,pgid=,sess=,state=,rss=,time=,lstart=").Output()
	if err != nil {
		return Table{}, fmt.Errorf("ps: %w", err)
	}
	var procs []Proc
	for _, line := range bytes.Split(out, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) < 12 {
			continue
		}
		atoi := func(b []byte) int { v, _ := strconv.Atoi(string(b)); return v }
		start, err := time.ParseInLocation("Mon Jan 2 15:04:05 2006", string(bytes.Join(f[7:12], []byte(" "))), time.Local)
		if err != nil {
			continue
		}
		p := Proc{PID: atoi(f[0]), PPID: atoi(f[1]), PGID: atoi(f[2]), State: f[4][0],
			RSS: int64(atoi(f[5])) * 1024, StartTicks: uint64(start.Unix()), CPUTicks: cpuTime(string(f[6]))}
		// macOS ps shows no session id; the process group stands in for it,
		// since bgrun starts every process as a group and session leader.
		p.SID = p.PGID
		procs = append(procs, p)
	}
	return newTable(procs), nil
}

func cpuTime(s string) uint64 {
	var m, sec float64
	fmt.Sscanf(s, "%f:%f", &m, &sec)
	return uint64((m*60 + sec) * ClockTicks)
}

// Read returns one process, ok false when it does not exist.
func Read(pid int) (Proc, bool) {
	t, err := Snapshot()
	if err != nil {
		return Proc{}, false
	}
	return t.Get(pid)
}

// Cmdline returns the command line of pid, or "" when it cannot be read.
func Cmdline(pid int) string {
	out, err := exec.Command("ps", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(out))
}
