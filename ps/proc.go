package ps

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

// NewTable indexes procs.
func NewTable(procs []Proc) Table {
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

// Alive reports whether pid is still the process that started at ticks: it
// exists, is not a zombie, and has that start time. A zero ticks (unknown)
// never matches, so an unidentified pid is never taken for ours.
func (t Table) Alive(pid int, ticks uint64) bool {
	p, ok := t.procs[pid]
	return ok && ticks != 0 && p.StartTicks == ticks && p.State != 'Z'
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
