package ps

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os/exec"
	"strconv"
	"time"
)

// ClockTicks is the unit of CPUTicks on Windows (100 ns units scaled down).
const ClockTicks = 100

// Snapshot lists processes through CIM. Windows has no sessions in the Unix
// sense; a process's tree is found from parent links alone.
func Snapshot() (Table, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "powershell", "-NoProfile", "-NonInteractive", "-Command",
		"Get-CimInstance Win32_Process | ForEach-Object { '{0},{1},{2},{3}' -f $_.ProcessId,$_.ParentProcessId,$_.CreationDate.ToFileTimeUtc(),$_.WorkingSetSize }").Output()
	if err != nil {
		return Table{}, fmt.Errorf("list processes: %w", err)
	}
	recs, _ := csv.NewReader(bytes.NewReader(out)).ReadAll()
	var procs []Proc
	for _, r := range recs {
		if len(r) < 4 {
			continue
		}
		pid, _ := strconv.Atoi(r[0])
		ppid, _ := strconv.Atoi(r[1])
		start, _ := strconv.ParseUint(r[2], 10, 64)
		rss, _ := strconv.ParseInt(r[3], 10, 64)
		procs = append(procs, Proc{PID: pid, PPID: ppid, PGID: pid, SID: pid, State: 'R', StartTicks: start, RSS: rss})
	}
	return newTable(procs), nil
}

// Read returns one process, ok false when it does not exist.
func Read(pid int) (Proc, bool) {
	t, err := Snapshot()
	if err != nil {
		return Proc{}, false
	}
	return t.Get(pid)
}

// Cmdline returns "" on Windows, where reading another process's command
// line needs a CIM query per process.
func Cmdline(pid int) string { return "" }
