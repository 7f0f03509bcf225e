package ps

import (
	"os"
	"sync"
	"time"

	"bgrun/store"
)

// Proc is what the OS says of one process.
type Proc struct {
	PID, PPID, PGID, SID int
	// State is the kernel's state letter; 'Z' is a zombie, which counts as gone.
	State byte
	// StartTicks is the kernel start time of the process (clock ticks since
	// boot on Linux, seconds since the epoch elsewhere). Together with the
	// pid it names a process for good: a reused pid has a later start time.
	StartTicks uint64
	RSS        int64  // resident memory, bytes
	CPUTicks   uint64 // user+system time, clock ticks
}

// Table is a snapshot of every process on the machine, indexed by pid, by
// session and by parent, so that finding the trees of many records costs one
// pass over the machine's processes, not one per record.
type Table struct {
	procs    map[int]Proc
	sessions map[int][]int
	children map[int][]int
	marks    *markers
}

// newTable indexes procs.
func newTable(procs []Proc) Table {
	t := Table{procs: make(map[int]Proc, len(procs)), sessions: map[int][]int{}, children: map[int][]int{},
		marks: &markers{read: readMarker, mine: sameUser, of: map[int]string{}}}
	for _, p := range procs {
		t.procs[p.PID] = p
		if p.State == 'Z' {
			continue
		}
		t.sessions[p.SID] = append(t.sessions[p.SID], p.PID)
		t.children[p.PPID] = append(t.children[p.PPID], p.PID)
	}
	return t
}

// Get returns the process pid, ok false when it does not exist.
func (t Table) Get(pid int) (Proc, bool) {
	p, ok := t.procs[pid]
	return p, ok
}

// PIDs returns every pid in the snapshot.
func (t Table) PIDs() []int {
	out := make([]int, 0, len(t.procs))
	for pid := range t.procs {
		out = append(out, pid)
	}
	return out
}

// Alive reports whether pid is still the process that started at ticks (see
// Proc.Alive), in the snapshot.
func (t Table) Alive(pid int, ticks uint64) bool {
	p, ok := t.procs[pid]
	return ok && p.Alive(ticks)
}

// Is reports whether p is the process that started at ticks: a pid names
// that process only while its start time is still ticks (a reused pid has a
// later one), and a zero ticks (unknown) names no process, so an
// unidentified pid is never taken for ours. A zombie is still the process.
func (p Proc) Is(ticks uint64) bool { return ticks != 0 && p.StartTicks == ticks }

// Alive reports whether p is the process that started at ticks and has not
// ended: a zombie has.
func (p Proc) Alive(ticks uint64) bool { return p.Is(ticks) && p.State != 'Z' }

// Alive reports whether pid is, now, the live process that started at
// ticks: the one identity check of bgrun, for a pid read from a record.
func Alive(pid int, ticks uint64) bool {
	if pid <= 0 {
		return false
	}
	p, ok := Read(pid)
	return ok && p.Alive(ticks)
}

// Is reports whether pid is, now, the process that started at ticks, ended
// or not (see Proc.Is): before a signal, pinned by a pidfd.
func Is(pid int, ticks uint64) bool {
	if pid <= 0 {
		return false
	}
	p, ok := Read(pid)
	return ok && p.Is(ticks)
}

// Members returns the live pids that belong to the process tree whose leader
// bgrun started as pid at ticks: the leader, every process of its session
// (bgrun starts each process in a session of its own, so sid == leader pid),
// and every descendant of those (a child that called setsid itself), less
// descendants that belong to another start (see MembersOf).
//
// A session id cannot be reused by the kernel while any process still has it,
// so processes of that session outlive their leader and remain ours. If a
// different process now holds the leader's pid, the session ended before the
// pid was reused, and nothing there is ours.
func (t Table) Members(pid int, ticks uint64) []int {
	return t.MembersOf(Owner{PID: pid, Ticks: ticks}, false)
}

// RSS returns the summed resident memory of pids.
func (t Table) RSS(pids []int) int64 {
	var n int64
	for _, p := range pids {
		n += t.procs[p].RSS
	}
	return n
}

// CPUTicks returns the summed CPU time of pids, in clock ticks.
func (t Table) CPUTicks(pids []int) uint64 {
	var n uint64
	for _, p := range pids {
		n += t.procs[p].CPUTicks
	}
	return n
}

// Shared hands out process snapshots to goroutines that each need one taken
// after a moment of their own (after they marked a record stopped, after
// its processes exited). One snapshot is read at a time: a caller whose
// moment came before the current one began shares it, and every caller that
// comes while it is read shares the next, so the 50 stops of a bulk stop
// read /proc a few times instead of a hundred. The nil *Shared takes a
// snapshot per call.
type Shared struct {
	mu   sync.Mutex
	cur  *flight // being read, or the last one read
	next *flight // to be read once cur is, for those who came meanwhile
}

// flight is one snapshot.
type flight struct {
	began time.Time
	done  chan struct{}
	t     Table
	err   error
}

// After returns a snapshot that began at or after since.
func (s *Shared) After(since time.Time) (Table, error) {
	if s == nil {
		return Snapshot()
	}
	s.mu.Lock()
	cur := s.cur
	switch {
	case cur != nil && !cur.began.Before(since):
		s.mu.Unlock()
		return cur.wait()
	case s.next != nil:
		f := s.next
		s.mu.Unlock()
		return f.wait()
	case cur == nil || cur.read():
		f := &flight{began: time.Now(), done: make(chan struct{})}
		s.cur = f
		s.mu.Unlock()
		return f.run()
	}
	// cur is being read, but began too early: read the next one after it.
	f := &flight{done: make(chan struct{})}
	s.next = f
	s.mu.Unlock()
	<-cur.done
	s.mu.Lock()
	f.began, s.cur, s.next = time.Now(), f, nil
	s.mu.Unlock()
	return f.run()
}

func (f *flight) run() (Table, error) {
	f.t, f.err = Snapshot()
	close(f.done)
	return f.t, f.err
}

func (f *flight) wait() (Table, error) {
	<-f.done
	return f.t, f.err
}

// read reports whether f has been read.
func (f *flight) read() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// Self returns this process's identity.
var Self = sync.OnceValue(func() store.Ident {
	p, _ := Read(os.Getpid())
	return store.Ident{PID: os.Getpid(), Ticks: p.StartTicks}
})
