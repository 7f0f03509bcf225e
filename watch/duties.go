package watch

import (
	"context"
	"fmt"
	"sync"
	"time"

	"bgrun/ps"
	"bgrun/run"
	"bgrun/store"
)

// Intervals of the supervisor's duties that are not set per record.
const (
	// rotateEvery is how often the logs of a record are checked against
	// their cap; with the default 10 MB cap, a process must write over
	// 2 MB/s to pass it by much between two checks.
	rotateEvery = 5 * time.Second
	// memoryEvery is how often the RSS of a record's tree is compared with
	// its --max-memory.
	memoryEvery = 5 * time.Second
)

// healthFailures is how many health checks in a row must fail before the
// supervisor restarts a guarded process; memoryChecks how many memory checks
// in a row must find its tree over its limit.
const (
	healthFailures = 3
	memoryChecks   = 2
)

// action is what dutyChecks.Check asks the supervisor to do with a record.
type action int

// The actions of dutyChecks.Check.
const (
	actionNone action = iota
	// actionRestartUnhealthy: a guarded process failed its health check
	// healthFailures times in a row.
	actionRestartUnhealthy
	// actionRestartMemory: the tree's RSS stayed above --max-memory for
	// memoryChecks checks.
	actionRestartMemory
)

// Event returns the history event that records the action: "unhealthy" or
// "max_memory"; "" for actionNone.
func (a action) Event() store.EventKind {
	switch a {
	case actionRestartUnhealthy:
		return store.EventUnhealthy
	case actionRestartMemory:
		return store.EventMaxMemory
	}
	return ""
}

// dutyChecks decides the supervisor's periodic duties for the records of a
// store: log rotation (every rotateEvery, for every record), health checks
// (every --health-interval, for a guarded record with --ready) and the
// memory limit (every memoryEvery, for a record with --max-memory). The
// supervisor's loop calls Check (or CheckAll) for each record it looks at,
// as often as it likes: a duty runs only when it is due. Check never waits
// for a probe: a due probe runs in the background and its result counts at
// a later Check, so a slow health check does not hold up the loop.
//
// Counters are kept per record and start over when the record's process
// changes (a restart, by anyone), so a new process is never restarted for
// the failures of the old one. The zero value is ready to use.
type dutyChecks struct {
	// Probe runs one health check; run.Probe when nil.
	Probe func(ctx context.Context, spec, dir string, env []string) error
	// Rotate rotates a record's logs; run.RotateLogs when nil.
	Rotate func(rec store.Record) error
	// Env returns the environment a cmd: check runs with; the record's
	// process environment (run.Environment) when nil.
	Env func(rec store.Record) []string
	// Logf reports what Check cannot return (a failed rotation); nothing
	// when nil.
	Logf func(format string, args ...any)

	mu     sync.Mutex
	state  map[string]*dutyState
	probes sync.WaitGroup
}

// dutyState is what dutyChecks remembers of one record between checks.
type dutyState struct {
	// pid and ticks name the process the counters are about.
	pid   int
	ticks uint64

	lastRotate, lastMemory time.Time
	// nextHealth is when the next health check is due.
	nextHealth time.Time
	probing    bool // a health check runs in the background
	// results holds finished health checks not yet counted: nil for a
	// pass, else the failure.
	results     []error
	healthFails int
	lastFailure error
	memoryOver  int
}

// Check runs the duties of rec that are due at now and says whether its
// process must be restarted, and why. It takes a process snapshot of its
// own; CheckAll shares one among many records. ctx bounds the health checks
// it starts in the background: give the supervisor's own context, not one
// that ends when Check returns.
func (d *dutyChecks) Check(ctx context.Context, rec store.Record, now time.Time) (action, string) {
	t, err := ps.Snapshot()
	if err != nil {
		d.logf("process snapshot: %v", err)
		return actionNone, ""
	}
	return d.check(ctx, rec, now, t)
}

// decision is the answer of CheckAll for one record.
type decision struct {
	Name   string
	Action action
	Reason string
}

// CheckAll is Check for every record in recs with one process snapshot,
// returning only the records whose process must be restarted.
func (d *dutyChecks) CheckAll(ctx context.Context, recs []store.Record, now time.Time) []decision {
	t, err := ps.Snapshot()
	if err != nil {
		d.logf("process snapshot: %v", err)
		return nil
	}
	var out []decision
	for _, r := range recs {
		if a, why := d.check(ctx, r, now, t); a != actionNone {
			out = append(out, decision{Name: r.Name, Action: a, Reason: why})
		}
	}
	return out
}

// Forget drops what dutyChecks remembers of the record named name (deleted).
func (d *dutyChecks) Forget(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.state, name)
}

// Wait waits for the health checks running in the background (tests, and a
// supervisor that exits).
func (d *dutyChecks) Wait() { d.probes.Wait() }

func (d *dutyChecks) check(ctx context.Context, rec store.Record, now time.Time, t ps.Table) (action, string) {
	d.mu.Lock()
	st := d.stateOf(rec.Name)
	rotateDue := now.Sub(st.lastRotate) >= rotateEvery
	if rotateDue {
		st.lastRotate = now
	}
	d.mu.Unlock()
	if rotateDue {
		rotate := d.Rotate
		if rotate == nil {
			rotate = func(r store.Record) error { return run.RotateLogs(r) }
		}
		if err := rotate(rec); err != nil {
			d.logf("rotate logs: %v", err)
		}
	}

	pids := t.Members(rec.PID, rec.StartTicks)
	d.mu.Lock()
	defer d.mu.Unlock()
	// Only a running process that has passed its start has duties; anything
	// else (stopped, crashed, starting, waiting for the guard) starts over.
	if len(pids) == 0 || rec.Status != store.StatusRunning {
		st.reset(0, 0, now, rec)
		return actionNone, ""
	}
	if st.pid != rec.PID || st.ticks != rec.StartTicks {
		st.reset(rec.PID, rec.StartTicks, now, rec)
	}

	if rec.MaxMemory > 0 && now.Sub(st.lastMemory) >= memoryEvery {
		st.lastMemory = now
		rss := t.RSS(pids)
		if rss > rec.MaxMemory {
			st.memoryOver++
		} else {
			st.memoryOver = 0
		}
		if st.memoryOver >= memoryChecks {
			st.memoryOver = 0
			return actionRestartMemory, fmt.Sprintf("memory %s above --max-memory %s for %d checks in a row",
				run.FormatSize(rss), run.FormatSize(rec.MaxMemory), memoryChecks)
		}
	}

	if !rec.Guard || rec.Ready == "" {
		return actionNone, ""
	}
	for _, err := range st.results {
		if err == nil {
			st.healthFails, st.lastFailure = 0, nil
			continue
		}
		st.healthFails++
		st.lastFailure = err
	}
	st.results = st.results[:0]
	if st.healthFails >= healthFailures {
		why := fmt.Sprintf("health check %s failed %d times in a row: %v", rec.Ready, st.healthFails, st.lastFailure)
		st.healthFails, st.lastFailure = 0, nil
		return actionRestartUnhealthy, why
	}
	if !st.probing && !now.Before(st.nextHealth) {
		st.probing = true
		st.nextHealth = now.Add(rec.HealthEvery())
		d.probes.Add(1)
		go d.probe(ctx, rec, st)
	}
	return actionNone, ""
}

// probe runs one health check of rec and leaves its result in st, unless
// st has moved on to another process meanwhile.
func (d *dutyChecks) probe(ctx context.Context, rec store.Record, st *dutyState) {
	defer d.probes.Done()
	probe := d.Probe
	if probe == nil {
		probe = run.Probe
	}
	var env []string
	if d.Env != nil {
		env = d.Env(rec)
	} else if e, _, err := run.Environment(&rec); err == nil {
		env = e
	}
	err := probe(ctx, rec.Ready, rec.Dir, env)
	d.mu.Lock()
	defer d.mu.Unlock()
	st.probing = false
	if st.pid == rec.PID && st.ticks == rec.StartTicks {
		st.results = append(st.results, err)
	}
}

// stateOf returns the state of the record named name, made on first use.
// The caller holds d.mu.
func (d *dutyChecks) stateOf(name string) *dutyState {
	if d.state == nil {
		d.state = map[string]*dutyState{}
	}
	st, ok := d.state[name]
	if !ok {
		st = &dutyState{}
		d.state[name] = st
	}
	return st
}

// reset starts the counters over for the process pid (0: none). Its first
// health check is due one interval after now, since a start has just
// checked readiness itself; its first memory check is due at once.
func (st *dutyState) reset(pid int, ticks uint64, now time.Time, rec store.Record) {
	if st.pid == pid && st.ticks == ticks {
		return
	}
	st.pid, st.ticks = pid, ticks
	st.results, st.healthFails, st.lastFailure, st.memoryOver = nil, 0, nil, 0
	st.lastMemory = time.Time{}
	st.nextHealth = now.Add(rec.HealthEvery())
}

func (d *dutyChecks) logf(format string, args ...any) {
	if d.Logf != nil {
		d.Logf(format, args...)
	}
}
