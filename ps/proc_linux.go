package ps

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
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
	buf := make([]byte, 1024)
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
	return readStat(pid, make([]byte, 1024))
}

// readFile reads the file at path into buf, as much as fits, with plain
// system calls: a list reads two files of each process, and os.File's
// bookkeeping (poller registration, finalizer, buffers) would cost more
// than the reads.
func readFile(path string, buf []byte) ([]byte, bool) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], true
}

// readStat parses /proc/PID/stat, read into buf (1024 bytes hold it). The
// command name (field 2) may hold spaces and ')', so fields are counted
// from the last ')'.
func readStat(pid int, buf []byte) (Proc, bool) {
	b, ok := readFile("/proc/"+strconv.Itoa(pid)+"/stat", buf)
	if !ok {
		return Proc{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return Proc{}, false
	}
	// After ')': state(3) ppid(4) pgrp(5) session(6) ... utime(14) stime(15)
	// ... starttime(22) vsize(23) rss(24); index = field - 3.
	var fields [22][]byte
	rest := b[i+2:]
	for k := range fields {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexAny(rest, " \n")
		if end < 0 {
			end = len(rest)
		}
		if end == 0 {
			return Proc{}, false
		}
		fields[k], rest = rest[:end], rest[end:]
	}
	num := func(k int) uint64 {
		var v uint64
		for _, c := range fields[k-3] {
			if c < '0' || c > '9' {
				return 0
			}
			v = v*10 + uint64(c-'0')
		}
		return v
	}
	inum := func(k int) int { return int(num(k)) }
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

// readMarker returns the BGR_INSTANCE value in pid's environment: gone when
// pid has ended (or is a zombie), "" when there is none or the environment
// cannot be read (another user's process).
func readMarker(pid int) string {
	bp := environBuf.Get().(*[]byte)
	defer environBuf.Put(bp)
	path := "/proc/" + strconv.Itoa(pid) + "/environ"
	b, ok := readFile(path, *bp)
	for ok && len(b) == len(*bp) && len(b) < environCap {
		*bp = make([]byte, min(2*len(b), environCap))
		b, ok = readFile(path, *bp)
	}
	if !ok || len(b) == 0 {
		// Unreadable or empty: another user's process or a kernel thread,
		// or one that has ended since the snapshot (a zombie's is empty).
		if p, ok := readStat(pid, (*bp)[:1024]); !ok || p.State == 'Z' || p.State == 'X' {
			return gone
		}
		return ""
	}
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

// environBuf holds the buffers environments are read into: most fit 16 KiB.
var environBuf = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// sameUser reports whether pid runs as the user bgrun runs as: a marker scan
// claims only the user's own processes.
func sameUser(pid int) bool {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid), &st); err != nil {
		return false
	}
	return int(st.Uid) == os.Getuid()
}
