package ps

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"bgrun/store"
)

// MarkerVar is the environment variable that carries a start's instance
// marker. bgrun puts BGR_INSTANCE=<record id>.<nonce> in the environment of
// every process it starts, and every descendant inherits it, so a process
// that escaped its session and lost its parent (a double fork, `setsid
// daemon &`) is still known as the record's.
const MarkerVar = "BGR_INSTANCE"

// HelperMarker is the marker of bgrun's own long-lived helpers (the
// supervisors): a marker that names no record, so a helper spawned from
// inside a record's tree (by the dashboard, or a CLI run by a managed
// process) is never counted as a member of that tree.
const HelperMarker = "bgrun-helper"

// probeMarkerPrefix begins the marker of a supervisor's readiness and
// health checks (`--ready cmd:...`): ProbeMarker.
const probeMarkerPrefix = "bgrun-probe."

// ProbeMarker is the marker of the checks that the supervisor sup runs: they
// belong to no record, and a check left running by a supervisor that was
// killed is found by it and ended by the next (see OrphanProbes).
func ProbeMarker(sup store.Ident) string {
	return fmt.Sprintf("%s%d.%d", probeMarkerPrefix, sup.PID, sup.Ticks)
}

// OrphanProbes returns the markers of the checks in t whose supervisor no
// longer runs.
func (t Table) OrphanProbes() []string {
	var out []string
	for m := range t.markedIndex() {
		rest, ok := strings.CutPrefix(m, probeMarkerPrefix)
		if !ok {
			continue
		}
		var sup store.Ident
		if _, err := fmt.Sscanf(rest, "%d.%d", &sup.PID, &sup.Ticks); err == nil && !t.Alive(sup.PID, sup.Ticks) {
			out = append(out, m)
		}
	}
	return out
}

// Owner names the processes of one start of a record: its leader (pid and
// kernel start time) and its instance marker.
type Owner struct {
	PID      int
	Ticks    uint64
	Instance string
}

// OwnerOf returns the owner of r's last start.
func OwnerOf(r store.Record) Owner {
	return Owner{PID: r.PID, Ticks: r.StartTicks, Instance: r.Instance}
}

// markers is what a Table knows of environment markers, read lazily: most
// listings need the marker of no process, or of a few. A Table may be
// shared by goroutines (see Shared), so what is read is kept under mu.
type markers struct {
	read  func(pid int) string // the platform's reader; "" when none or unreadable
	mine  func(pid int) bool   // the process runs as bgrun's user
	mu    sync.Mutex
	of    map[int]string
	index map[string][]int // marker -> processes carrying it, candidates only
	cands []int            // the candidates (see candidates), newest first
	// unsure: a scan met a process whose marker was unknown (see visit
	// and Unsure).
	unsure bool
}

// unknown is what markers hold for a process whose marker could not be
// known when its environment was read: it had ended or was ending (a
// zombie's environment reads empty), or it was in the middle of an exec
// (between its old program and its new one, its environment reads empty
// too). See visit.
const unknown = "\x00unknown"

// get returns pid's marker as read (or unknown), reading it once per Table.
func (m *markers) get(pid int) string {
	m.mu.Lock()
	v, ok := m.of[pid]
	m.mu.Unlock()
	if !ok {
		v = m.read(pid) // two readers may both read it: they read the same
		m.mu.Lock()
		m.of[pid] = v
		m.mu.Unlock()
	}
	return v
}

// Marker returns the instance marker in pid's environment, "" when it has
// none or its environment cannot be read (another user's process).
func (t Table) Marker(pid int) string {
	if m := t.marks.get(pid); m != unknown {
		return m
	}
	return ""
}

// foreign reports whether pid, a process that left the session of the tree
// being walked, belongs somewhere else: it carries another start's marker,
// or is one of bgrun's helpers. Such a process is the leader of another
// record (the dashboard and supervisors spawn them) and is never a member
// of its spawner's tree, nor is anything below it.
func (t Table) foreign(pid int, instance string) bool {
	m := t.Marker(pid)
	return m != "" && m != instance
}

// candidates are the processes a marker scan reads: every process whose
// session differs from its parent's (or that has no live parent here). Any
// other process is in its parent's session and is found by walking down
// from the first ancestor that is a candidate, so reading these is enough
// to find every process that carries a marker (see visit for a parent that
// ends meanwhile). They come newest first: only processes that started at
// or after a start can belong to it.
func (t Table) candidates() []int {
	t.marks.mu.Lock()
	defer t.marks.mu.Unlock()
	if t.marks.cands != nil {
		return t.marks.cands
	}
	cands := []int{}
	for pid, p := range t.procs {
		if p.State == 'Z' {
			continue
		}
		// A zombie parent carries no readable marker: its child is read.
		if parent, ok := t.procs[p.PPID]; ok && parent.SID == p.SID && p.PPID != 0 && parent.State != 'Z' {
			continue
		}
		cands = append(cands, pid)
	}
	slices.SortFunc(cands, func(a, b int) int {
		return cmp.Or(cmp.Compare(t.procs[b].StartTicks, t.procs[a].StartTicks), cmp.Compare(a, b))
	})
	t.marks.cands = cands
	return cands
}

// markedIndex maps every marker to the candidates that carry it, reading
// the environment of each candidate once per Table.
func (t Table) markedIndex() map[string][]int {
	if idx := t.index(); idx != nil {
		return idx
	}
	idx := map[string][]int{}
	for _, pid := range t.candidates() {
		t.visit(pid, 0, func(pid int, m string) {
			if m != "" && m != HelperMarker {
				idx[m] = append(idx[m], pid)
			}
		})
	}
	t.marks.mu.Lock()
	t.marks.index = idx
	t.marks.mu.Unlock()
	return idx
}

// index is the marker index, nil until markedIndex built it.
func (t Table) index() map[string][]int {
	t.marks.mu.Lock()
	defer t.marks.mu.Unlock()
	return t.marks.index
}

// carriers returns the candidates that carry marker instance and started at
// or after since, reading the environments of those that started since
// only (all of them when the index is built already).
func (t Table) carriers(instance string, since uint64) []int {
	var out []int
	if idx := t.index(); idx != nil {
		for _, pid := range idx[instance] {
			if t.procs[pid].StartTicks >= since {
				out = append(out, pid)
			}
		}
		return out
	}
	for _, pid := range t.candidates() {
		if t.procs[pid].StartTicks < since {
			break
		}
		t.visit(pid, since, func(pid int, m string) {
			if m == instance {
				out = append(out, pid)
			}
		})
	}
	return out
}

// visit calls fn with candidate pid and its marker. A candidate whose
// marker is unknown (it ended after the snapshot, before its environment
// was read, or was in an exec) stands for its children in its session
// (which the candidates leave to it): they are visited in its place, those
// that started at or after since. So a daemon whose parent exited just after forking it (`sh
// -c 'daemon &'` run by setsid) is never missed for having been read too
// late. The table is then unsure (see Unsure): what the candidate forked
// after the snapshot, or the candidate itself when it was in an exec, is
// missing from it.
func (t Table) visit(pid int, since uint64, fn func(pid int, marker string)) {
	m := t.marks.get(pid)
	if m != unknown {
		fn(pid, m)
		return
	}
	t.marks.mu.Lock()
	t.marks.unsure = true
	t.marks.mu.Unlock()
	for _, c := range t.children[pid] {
		if cp := t.procs[c]; cp.SID == t.procs[pid].SID && cp.StartTicks >= since {
			t.visit(c, since, fn)
		}
	}
}

// Unsure reports whether a marker scan of t met a process whose marker was
// unknown: it had ended, or was ending or in an exec, when its environment
// was read. What such a process forked just before it ended may have
// appeared after t was read, and a process in an exec is read again once
// it is through, so an answer from t that found nothing is to be checked
// against a newer snapshot (see MembersNow).
func (t Table) Unsure() bool {
	t.marks.mu.Lock()
	defer t.marks.mu.Unlock()
	return t.marks.unsure
}

// sureLooks bounds how many snapshots MembersNow reads: the races it closes
// last while a process ends or execs, and a machine that starts and ends
// processes all the time must not hold a stop up.
const sureLooks = 4

// MembersNow returns o's members (see MembersOf) in a snapshot that began
// at or after since (taken from snaps), and that snapshot. It finds nothing
// only when a snapshot says so surely (see Unsure): a daemon forked by a
// process that ended while the snapshot was read, or that was in an exec
// (`setsid sh -c 'd &'`: setsid forks, its child execs sh, which forks the
// daemon and exits), is never taken for gone.
func MembersNow(o Owner, snaps *Shared, since time.Time) ([]int, Table, error) {
	for look := 1; ; look++ {
		t, err := snaps.After(since)
		if err != nil {
			return nil, t, err
		}
		m := t.MembersOf(o, true)
		if len(m) > 0 || !t.Unsure() || look == sureLooks {
			return m, t, nil
		}
		since = time.Now()
	}
}

// Remember takes the markers prev read of the processes that are still the
// same (same pid and start time) here, so a Table taken again soon after
// reads the environments of new processes only. A process keeps the
// environment it started with unless it execs, and one that execs keeps
// its session and parent, by which its tree still finds it.
func (t Table) Remember(prev Table) {
	if prev.marks == nil || prev.marks == t.marks {
		return
	}
	prev.marks.mu.Lock()
	defer prev.marks.mu.Unlock()
	t.marks.mu.Lock()
	defer t.marks.mu.Unlock()
	for pid, m := range prev.marks.of {
		if p, ok := t.procs[pid]; ok && p.StartTicks == prev.procs[pid].StartTicks {
			t.marks.of[pid] = m
		}
	}
}

// MembersOf returns the live pids of o's tree: its leader's session (when
// the leader is still the process bgrun started, or gone), every descendant
// of those, and, when scan is true, every process that carries o's marker
// (with its descendants), wherever it ran off to. A descendant that carries
// another start's marker, or is a bgrun helper, is left out with its
// subtree. scan costs one read of the environment of each candidate process
// (see markedIndex), once per Table.
func (t Table) MembersOf(o Owner, scan bool) []int {
	set := map[int]bool{}
	var queue []int
	add := func(pid int) {
		if !set[pid] {
			set[pid] = true
			queue = append(queue, pid)
		}
	}
	leaderOK := o.PID > 0 && o.Ticks != 0
	if p, ok := t.procs[o.PID]; ok && p.StartTicks != o.Ticks {
		leaderOK = false // the pid was reused: its session is not ours
	}
	if leaderOK {
		for _, m := range t.sessions[o.PID] {
			if t.procs[m].StartTicks >= o.Ticks {
				add(m)
			}
		}
	}
	if scan && o.Instance != "" {
		for _, pid := range t.carriers(o.Instance, o.Ticks) {
			if t.marks.mine(pid) {
				add(pid)
			}
		}
	}
	// Descendants of members, which may have left the session.
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range t.children[cur] {
			cp := t.procs[c]
			if set[c] || cp.StartTicks < o.Ticks {
				continue
			}
			if cp.SID != t.procs[cur].SID && t.foreign(c, o.Instance) {
				continue
			}
			add(c)
		}
	}
	out := make([]int, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// Leader returns the process that leads what carries marker instance: the
// oldest session leader among them (a start's leader calls setsid first),
// for finishing a start whose bgrun was killed before it wrote the pid.
func (t Table) Leader(instance string) (Proc, bool) {
	var best Proc
	found := false
	for _, pid := range t.markedIndex()[instance] {
		p := t.procs[pid]
		if p.SID != p.PID || !t.marks.mine(pid) {
			continue
		}
		if !found || p.StartTicks < best.StartTicks || (p.StartTicks == best.StartTicks && p.PID < best.PID) {
			best, found = p, true
		}
	}
	return best, found
}

// Marked returns every live process that carries a record's marker, with
// its descendants, by marker: for checks that nothing runs that no record
// knows.
func (t Table) Marked() map[string][]int {
	out := map[string][]int{}
	for m := range t.markedIndex() {
		out[m] = t.MembersOf(Owner{Instance: m}, true)
	}
	return out
}

// LeaderOf returns the leader of r's last start: the process it recorded,
// while that still runs, else the one that leads what carries its marker.
func (t Table) LeaderOf(r store.Record) (Proc, bool) {
	if t.Alive(r.PID, r.StartTicks) {
		return t.procs[r.PID], true
	}
	if r.Instance != "" {
		return t.Leader(r.Instance)
	}
	return Proc{}, false
}
