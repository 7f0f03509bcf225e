package ps

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
)

// ClockTicks is the unit of StartTicks and CPUTicks: USER_HZ, 100 on every
// Linux architecture Go supports.
const ClockTicks = 100

var pageSize = int64(os.Getpagesize())

// Snapshot reads every process from /proc.
func Snapshot() (Table, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return Table{}, fmt.Errorf("read processes: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return Table{}, fmt.Errorf("read processes: %w", err)
	}
	procs := make([]Proc, 0, len(names))
	buf := make([]byte, 0, 1024)
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if p, ok := readStat(pid, buf); ok {
			procs = append(procs, p)
		}
	}
	return NewTable(procs), nil
}

// Read returns one process, ok false when it does not exist.
func Read(pid int) (Proc, bool) {
	return readStat(pid, nil)
}

// readStat parses /proc/PID/stat. The command name (field 2) may hold spaces
// and ')', so fields are counted from the last ')'.
func readStat(pid int, buf []byte) (Proc, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false
	}
	defer f.Close()
	buf = buf[:cap(buf)]
	if len(buf) < 1024 {
		buf = make([]byte, 1024)
	}
	n, _ := f.Read(buf)
	b := buf[:n]
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return Proc{}, false
	}
	fields := bytes.Fields(b[i+2:])
	// After ')': state(3) ppid(4) pgrp(5) session(6) ... utime(14) stime(15)
	// ... starttime(22) vsize(23) rss(24); index = field - 3.
	if len(fields) < 22 {
		return Proc{}, false
	}
	num := func(k int) uint64 {
		v, _ := strconv.ParseUint(string(fields[k-3]), 10, 64)
		return v
	}
	inum := func(k int) int {
		v, _ := strconv.Atoi(string(fields[k-3]))
		return v
	}
	return Proc{
		PID:        pid,
		State:      fields[0][0],
		PPID:       inum(4),
		PGID:       inum(5),
		SID:        inum(6),
		CPUTicks:   num(14) + num(15),
		StartTicks: num(22),
		RSS:        int64(num(24)) * pageSize,
	}, true
}

// Cmdline returns the command line of pid, arguments joined by spaces, or ""
// when it cannot be read.
func Cmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// environCap bounds how much of one environment a marker scan reads: the
// marker is found wherever it is in the first 256 KiB.
const environCap = 256 << 10

// readMarker returns the BGR_INSTANCE value in pid's environment, "" when
// there is none or the environment cannot be read (another user's process,
// or one that ended).
func readMarker(pid int) string {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, environCap))
	key := []byte(MarkerVar + "=")
	for len(b) > 0 {
		kv := b
		if i := bytes.IndexByte(b, 0); i >= 0 {
			kv, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if v, ok := bytes.CutPrefix(kv, key); ok {
			return string(v)
		}
	}
	return ""
}

// sameUser reports whether pid runs as the user bgrun runs as: a marker scan
// claims only the user's own processes.
func sameUser(pid int) bool {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid), &st); err != nil {
		return false
	}
	return int(st.Uid) == os.Getuid()
}
