package ps

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// ClockTicks is the unit of StartTicks and CPUTicks: USER_HZ, 100 on every
// Linux architecture Go supports.
const ClockTicks = 100

var pageSize = int64(os.Getpagesize())

// Snapshot reads every process from /proc: the list of pids, then each
// one's stat. A process that the list holds but that had ended (or become a
// zombie) by the time its stat was read may have forked a child after the
// list was read, its last act before exiting (`sh -c 'daemon &'`): when the
// first pass met one, the list is read again for the processes it lacked.
func Snapshot() (Table, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return Table{}, fmt.Errorf("read processes: %w", err)
	}
	defer d.Close()
	procs := make([]Proc, 0, 512)
	buf := make([]byte, 1024)
	var seen map[int]bool
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			if _, err := d.Seek(0, io.SeekStart); err != nil {
				return Table{}, fmt.Errorf("read processes: %w", err)
			}
			seen = make(map[int]bool, len(procs))
			for _, p := range procs {
				seen[p.PID] = true
			}
		}
		names, err := d.Readdirnames(-1)
		if err != nil {
			return Table{}, fmt.Errorf("read processes: %w", err)
		}
		ended := false
		for _, n := range names {
			pid, err := strconv.Atoi(n)
			if err != nil || seen[pid] {
				continue
			}
			p, ok := readStat(pid, buf)
			if ok {
				procs = append(procs, p)
			}
			ended = ended || !ok || p.State == 'Z'
		}
		if !ended {
			break
		}
	}
	return newTable(procs), nil
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

// readMarker returns the BGR_INSTANCE value in pid's environment, "" when
// there is none or the environment cannot be read (another user's process),
// unknown when it cannot be known (see unknownMarker).
func readMarker(pid int) string {
	bp := environBuf.Get().(*[]byte)
	defer environBuf.Put(bp)
	path := "/proc/" + strconv.Itoa(pid) + "/environ"
	b, ok := readFile(path, *bp)
	for ok && len(b) == len(*bp) && len(b) < environCap {
		*bp = make([]byte, min(2*len(b), environCap))
		b, ok = readFile(path, *bp)
	}
	if (!ok || len(b) == 0) && unknownMarker(pid, ok, (*bp)[:1024]) {
		return unknown
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

// The kernel's process flags (field 9 of /proc/PID/stat) that say why an
// environment reads empty.
const (
	pfExiting = 0x4        // PF_EXITING: set as it begins to exit, before its memory goes
	pfKthread = 0x00200000 // PF_KTHREAD: a kernel thread has no environment
)

// unknownMarker reports, for a process whose environment could not be read
// (read false) or read empty, whether its marker is unknown: it no longer
// exists, is a zombie or exiting, or, read but empty, is not a kernel
// thread. That is a process in the middle of an exec (its new memory has
// no environment yet), or, rarely, one started with none at all. An
// unreadable environment of a live process is another user's: "" for sure.
// buf holds /proc/PID/stat.
func unknownMarker(pid int, read bool, buf []byte) bool {
	b, ok := readFile("/proc/"+strconv.Itoa(pid)+"/stat", buf)
	if !ok {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	f := bytes.Fields(b[i+2:]) // state is f[0], flags f[6]
	if len(f) < 7 {
		return false
	}
	flags, err := strconv.ParseUint(string(f[6]), 10, 64)
	switch {
	case f[0][0] == 'Z' || f[0][0] == 'X':
		return true
	case err != nil:
		return false
	case flags&pfExiting != 0:
		return true
	}
	return read && flags&pfKthread == 0
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
