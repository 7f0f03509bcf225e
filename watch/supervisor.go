package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"bgrun/docker"
	"bgrun/ps"
	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
)

// The supervisor is one process per store (`bgrun --_supervise STORE`): one
// loop over the store's records. Each pass reads the records that changed,
// and each record it keeps gets its duties: the guard (restart on crash,
// below) and the watcher (restart on file changes, watchDuty). Log
// rotation, readiness and health probes and memory limits join as more
// duties; a duty is told when a record comes and goes and gets every pass.
//
// The supervisor stays the parent of what it starts, so it collects exit
// statuses; every start is its own session, so no record is a member of the
// supervisor's tree. Leaders it adopted after a restart are watched by pidfd.
//
// Every write it makes goes through only while the record still says what
// the supervisor last saw (status, pid, start time): a stop, a delete or a
// start from the CLI in between wins, and a process the supervisor started
// that no record could take is ended at once.

const (
	// tick is how often the loop wakes: a change of the store is noticed
	// within it.
	tick = 100 * time.Millisecond
	// rescan is how often every record is read even when the store seems
	// unchanged.
	rescan = time.Second
	// idleExit is how long the supervisor stays with nothing to do.
	idleExit = time.Second
)

// A duty is one job the supervisor does for the records that want it.
type duty interface {
	// wants reports whether r needs this duty now.
	wants(r store.Record) bool
	// attach starts the duty for t; detach ends it (t is dropped, or no
	// longer wants it).
	attach(s *supervisor, t *tracked, r store.Record)
	detach(t *tracked)
	// pass is called on every pass of the loop over the records.
	pass(s *supervisor, t *tracked, r store.Record)
}

// duties are the supervisor's duties besides the guard, which is its core.
var duties = []duty{watchDuty{}}

// ident is what a record said when the supervisor last read or wrote it.
type ident struct {
	status store.Status
	pid    int
	ticks  uint64
}

func identOf(r store.Record) ident { return ident{r.Status, r.PID, r.StartTicks} }

// tracked is one record the supervisor keeps.
type tracked struct {
	name    string
	want    ident
	leader  *run.Leader // the leader watched; nil when none
	started time.Time
	// follow is set when the leader daemonized: its tree is watched instead.
	follow  bool
	busy    bool      // a start or an end runs in a goroutine
	retryAt time.Time // the guard's next try; zero when none
	backoff *Backoff
	duties  map[duty]bool
	// watched and change belong to watchDuty.
	watched context.CancelFunc
	change  string
}

type eventKind int

const (
	evExit      eventKind = iota // a leader ended
	evStarted                    // a start finished its window (or failed)
	evEnded                      // what was left of a tree was ended
	evChange                     // watched files changed
	evPlainDone                  // a restart of an untracked record ended
)

type event struct {
	kind eventKind
	name string
	// t is who the event is for: an event for a record dropped and taken
	// again since is for a former keeping of it, and is ignored.
	t      *tracked
	leader *run.Leader
	start  startResult
	change string
	exit   exitInfo
}

type exitInfo struct {
	code   int
	signal string
	known  bool
	at     time.Time
}

type startResult struct {
	rec     store.Record
	leader  *run.Leader
	err     error
	want    ident           // the record as the start left it
	aborted bool            // the record changed meanwhile; the start was ended
	event   store.EventKind // start, restart or guard_restart
}

type supervisor struct {
	db      *store.DB
	log     *log.Logger
	self    ident
	grace   time.Duration
	timeout time.Duration
	recs    map[string]*tracked
	events  chan event
	version int64
	scanned time.Time
	idle    time.Time
	// ctx ends with the supervisor: it bounds readiness and health checks.
	ctx context.Context
	// periodic decides rotation, health checks and memory limits (see
	// duty_periodic.go) for checked, the records of the last scan that have
	// such duties; untracked counts those the guard does not keep, which
	// keep the supervisor running all the same. plainBusy holds the
	// untracked records being restarted.
	periodic  Duties
	checked   []store.Record
	checkAt   time.Time
	untracked int
	plainBusy map[string]bool
}

// Supervise is the supervisor of the store at dbPath (`bgrun --_supervise`).
// It returns at once when another supervisor of the store runs, and when
// no record needs it any more.
func Supervise(ctx context.Context, dbPath string) error {
	lf, err := openLock(lockPath(dbPath))
	if err != nil {
		return err
	}
	defer lf.Close()
	// A starter may be probing the lock this instant: try for a while.
	for deadline := time.Now().Add(time.Second); ; {
		ok, err := tryLock(lf)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return nil // another supervisor runs
		}
		time.Sleep(20 * time.Millisecond)
	}
	db, err := store.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	self, _ := ps.Read(os.Getpid())
	lf.Truncate(0)
	fmt.Fprintf(lf, "%d %d\n", os.Getpid(), self.StartTicks)
	s := &supervisor{db: db, log: log.New(os.Stderr, "bgrun supervisor: ", log.LstdFlags),
		self: ident{pid: os.Getpid(), ticks: self.StartTicks}, grace: startupWindow(), timeout: stopTimeout(),
		recs: map[string]*tracked{}, events: make(chan event, 64), idle: time.Now(), ctx: ctx,
		plainBusy: map[string]bool{}}
	s.periodic.Logf = s.log.Printf
	defer s.periodic.Wait()
	// A long-lived process with a small live heap: collect often rather
	// than let the heap grow to twice what it holds.
	debug.SetGCPercent(20)
	s.log.Printf("supervising %s (pid %d)", dbPath, os.Getpid())
	defer s.log.Print("exiting")
	return s.loop(ctx)
}

func (s *supervisor) loop(ctx context.Context) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	s.scan()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-s.events:
			s.handle(ev)
		case <-t.C:
		}
		if v, err := s.db.DataVersion(ctx); err == nil && v != s.version || time.Since(s.scanned) >= rescan {
			s.version = v
			s.scan()
		}
		s.due()
		s.checkDuties()
		if len(s.recs) > 0 || s.untracked > 0 || len(s.plainBusy) > 0 {
			s.idle = time.Now()
		} else if time.Since(s.idle) > idleExit && s.mayExit() {
			return nil
		}
	}
}

// mayExit looks once more, under the starters' lock, whether a record needs
// the supervisor: a starter that wrote one sees the supervisor either still
// running or gone, never about to go.
func (s *supervisor) mayExit() bool {
	f, err := openLock(startLockPath(s.db.Path()))
	if err != nil {
		// The store's folder was deleted under it: nothing can need it.
		_, serr := os.Stat(filepath.Dir(s.db.Path()))
		return errors.Is(serr, fs.ErrNotExist)
	}
	if err := lock(f); err != nil {
		f.Close()
		return false
	}
	if anyNeeds(s.db) {
		f.Close()
		s.idle = time.Now()
		return false
	}
	// Keep the starters' lock until the process ends, so its own lock is
	// released first.
	go func() { time.Sleep(time.Minute); f.Close() }()
	return true
}

// scan reads every record and brings the tracked set in line with it.
func (s *supervisor) scan() {
	s.scanned = time.Now()
	recs, err := s.db.List()
	if err != nil {
		s.log.Printf("read records: %v", err)
		return
	}
	seen := map[string]bool{}
	var snap *ps.Table
	s.noteDuties(recs)
	for _, r := range recs {
		seen[r.Name] = true
		t := s.recs[r.Name]
		if !Needs(r) {
			if t != nil {
				s.drop(t, r)
			}
			continue
		}
		if t == nil {
			t = s.attach(r)
		} else if !t.busy && identOf(r) != t.want {
			s.log.Printf("%s: changed elsewhere (%s, pid %d)", r.Name, r.Status, r.PID)
			s.take(t, r)
		}
		for _, d := range duties {
			switch w := d.wants(r); {
			case w && !t.duties[d]:
				t.duties[d] = true
				d.attach(s, t, r)
			case !w && t.duties[d]:
				delete(t.duties, d)
				d.detach(t)
			}
			if t.duties[d] {
				d.pass(s, t, r)
			}
		}
		if t.follow && !t.busy {
			if snap == nil {
				tb, err := ps.Snapshot()
				if err != nil {
					continue
				}
				snap = &tb
			}
			if !treeRuns(*snap, r) {
				t.follow = false
				s.crashed(t, exitInfo{code: -1, at: time.Now()})
			}
		}
	}
	for name, t := range s.recs {
		if !seen[name] {
			s.drop(t, store.Record{})
		}
	}
}

// attach starts keeping r: the supervisor marks itself on it (so lists show
// it supervised) and takes up its state.
func (s *supervisor) attach(r store.Record) *tracked {
	t := &tracked{name: r.Name, duties: map[duty]bool{},
		backoff: &Backoff{FreeRestarts: DefaultFreeRestarts, Limit: r.MaxRestarts}}
	s.recs[r.Name] = t
	s.log.Printf("%s: attached (%s, pid %d, guard=%v watch=%v)", r.Name, r.Status, r.PID, r.Guard, r.Watch)
	s.take(t, r)
	return t
}

// adopt keeps a start or a guard's try that a supervisor killed meanwhile
// made (it records the marker before the spawn, the pid after): when a
// process of it runs, the record is marked running with its leader, and
// followed, instead of being started a second time beside it. It reports
// whether it adopted one.
func (s *supervisor) adopt(t *tracked, r store.Record) bool {
	members, snap, err := ps.MembersNow(ps.OwnerOf(r), nil, time.Now())
	if err != nil || len(members) == 0 {
		return false
	}
	leader, found := snap.LeaderOf(r)
	event := store.EventStart
	if r.Status == store.StatusRestarting {
		event = store.EventRestart
	}
	ok := s.write(t, func(rec *store.Record) {
		if found {
			rec.PID, rec.PGID, rec.StartTicks = leader.PID, leader.PGID, leader.StartTicks
		}
		rec.Status, rec.Backoff = store.StatusRunning, ""
	}, event, leader.PID, map[string]any{"reason": "started by a supervisor that was killed; found running"})
	if !ok {
		return true // changed meanwhile: the next look takes it up
	}
	s.log.Printf("%s: adopted its running start, pid %d", t.name, leader.PID)
	if found {
		s.watchLeader(t, run.Adopt(leader.PID, leader.StartTicks))
	} else {
		t.follow = true // only its tree is known
	}
	return true
}

// drop stops keeping t; its process, if any, runs on.
func (s *supervisor) drop(t *tracked, r store.Record) {
	for d := range t.duties {
		d.detach(t)
	}
	delete(s.recs, t.name)
	if r.Name != "" && r.SupervisorPID == s.self.pid && r.SupervisorTicks == s.self.ticks {
		s.db.Update(r.Name, func(rec *store.Record) error {
			if rec.SupervisorPID == s.self.pid {
				rec.SupervisorPID, rec.SupervisorTicks = 0, 0
			}
			return nil
		})
	}
	s.log.Printf("%s: let go", t.name)
}

// take makes r's state the supervisor's own: on attaching, and when
// something else changed the record.
func (s *supervisor) take(t *tracked, r store.Record) {
	if r.SupervisorPID != s.self.pid || r.SupervisorTicks != s.self.ticks {
		// Marked on the record, so lists show it supervised.
		nr, err := s.db.Update(r.Name, func(rec *store.Record) error {
			rec.SupervisorPID, rec.SupervisorTicks = s.self.pid, s.self.ticks
			return nil
		})
		if err != nil {
			s.log.Printf("%s: %v", r.Name, err)
		} else {
			r = nr
		}
	}
	t.want, t.leader, t.follow, t.retryAt = identOf(r), nil, false, time.Time{}
	t.started = r.StartedAt
	if r.Status == store.StatusStarting {
		t.backoff.Reset() // a start of its own (the CLI's): the guard counts anew
	}
	if (r.Status == store.StatusStarting || r.Status == store.StatusRestarting) && s.adopt(t, r) {
		return
	}
	switch r.Status {
	case store.StatusStarting:
		s.launch(t, r, store.EventStart)
	case store.StatusRestarting:
		d, _ := time.ParseDuration(r.Backoff)
		t.retryAt = r.ExitedAt.Add(d)
	case store.StatusErrored, store.StatusFailed:
		// Watched: waiting for a change.
	default:
		snap, err := ps.Snapshot()
		if err != nil {
			return
		}
		switch {
		case snap.Alive(r.PID, r.StartTicks):
			s.watchLeader(t, run.Adopt(r.PID, r.StartTicks))
		case treeRuns(snap, r):
			t.follow = true
		case r.ExitedAt.Before(r.StartedAt) || r.ExitedAt.IsZero():
			// It ended while nobody supervised it.
			s.crashed(t, exitInfo{code: -1, at: time.Now()})
		}
	}
}

// watchLeader has l's end come back to the loop as an evExit event.
func (s *supervisor) watchLeader(t *tracked, l *run.Leader) {
	t.leader = l
	name := t.name
	l.OnEnd(func() { s.events <- event{kind: evExit, name: name, t: t, leader: l} })
}

// write applies fn to t's record if it still says what the supervisor last
// saw, and appends a history event; false when the record changed (stopped,
// deleted or started anew elsewhere), which always wins.
func (s *supervisor) write(t *tracked, fn func(*store.Record), ev store.EventKind, pid int, detail map[string]any) bool {
	errChanged := errors.New("changed")
	r, err := s.db.UpdateLogged(t.name, func(r *store.Record) error {
		if identOf(*r) != t.want || r.Status == store.StatusStopped {
			return errChanged
		}
		fn(r)
		return nil
	}, store.Event{Event: ev, PID: pid, Detail: detail})
	if errors.Is(err, errChanged) || errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		s.log.Printf("%s: update record: %v", t.name, err)
		return false
	}
	t.want = identOf(r)
	return true
}

// launch starts r in a goroutine: spawn, record, startup window. Its end
// comes back as an evStarted event.
func (s *supervisor) launch(t *tracked, r store.Record, ev store.EventKind) {
	t.busy, t.leader, t.follow, t.retryAt, t.change = true, nil, false, time.Time{}, ""
	want := t.want
	go func() {
		s.events <- event{kind: evStarted, name: r.Name, t: t, start: s.start(r, want, ev)}
	}()
}

// start spawns r with run's spawn and startup window, as the CLI does, and
// records the pid before the window so a stop meanwhile finds it.
func (s *supervisor) start(r store.Record, want ident, ev store.EventKind) startResult {
	res := startResult{event: ev, want: want}
	env, _, err := run.Environment(&r)
	if err != nil {
		res.err = err
		return res
	}
	t := &tracked{name: r.Name, want: want}
	// The marker is recorded before the spawn, so a supervisor killed in
	// between leaves a process that the next one finds by it.
	r.Instance = run.NewInstance(r.ID)
	if !s.write(t, func(rec *store.Record) { rec.Instance = r.Instance }, "", 0, nil) {
		res.aborted = true
		return res
	}
	cmd, err := run.Launch(&r, env)
	if err != nil {
		res.err = err
		return res
	}
	l := run.Follow(cmd, &r)
	// The status stays: starting for a first start, restarting for the
	// guard's try, so a list between tries says restarting.
	ok := s.write(t, func(rec *store.Record) {
		rec.PID, rec.PGID, rec.StartTicks, rec.StartedAt, rec.Group = r.PID, r.PGID, r.StartTicks, r.StartedAt, r.Group
		rec.Leader, rec.StderrOffset = r.Leader, r.StderrOffset
	}, "", 0, nil)
	if !ok {
		// Stopped or started elsewhere meanwhile: this start must not run.
		s.log.Printf("%s: record changed while starting; ending pid %d", r.Name, r.PID)
		stop.TreeOf(ps.OwnerOf(r), s.timeout)
		<-l.Done()
		res.aborted = true
		return res
	}
	res.want = t.want
	res.err = run.WaitStartup(l, &r, r.Window(s.grace))
	if res.err == nil && r.Ready != "" {
		if res.err = s.awaitReady(t, &r, env); errors.Is(res.err, errAborted) {
			res.aborted = true
			return res
		}
		res.want = t.want
	}
	res.rec, res.leader = r, l
	return res
}

func (s *supervisor) handle(ev event) {
	if ev.kind == evPlainDone {
		delete(s.plainBusy, ev.name)
		return
	}
	t := s.recs[ev.name]
	if t == nil || (ev.t != nil && ev.t != t) {
		return
	}
	switch ev.kind {
	case evStarted:
		t.busy = false
		s.started(t, ev.start)
	case evExit:
		if ev.leader != t.leader || t.busy {
			return // an old leader's end, already dealt with
		}
		code, sig, known, at := ev.leader.Exit()
		t.leader = nil
		e := exitInfo{code, sig, known, at}
		// What the start left, found by its marker too (a daemon that
		// escaped with setsid): the record names that marker while it
		// still names this start.
		o := ps.Owner{PID: t.want.pid, Ticks: t.want.ticks}
		if r, err := s.db.Get(t.name); err == nil && identOf(r) == t.want {
			o = ps.OwnerOf(r)
		}
		if m, _, err := ps.MembersNow(o, nil, time.Now()); err == nil && len(m) > 0 {
			// The leader died and left members: end them before a restart,
			// or the old tree runs on beside the new one.
			t.busy = true
			name := t.name
			go func() {
				if _, err := stop.TreeOf(o, s.timeout); err != nil {
					s.log.Printf("%s: %v", name, err)
				}
				s.events <- event{kind: evEnded, name: name, t: t, exit: e}
			}()
			return
		}
		s.crashed(t, e)
	case evEnded:
		t.busy = false
		s.crashed(t, ev.exit)
	case evChange:
		t.change = ev.change
	}
	if t.change != "" && !t.busy {
		s.changed(t)
	}
}

// started records how a start went.
func (s *supervisor) started(t *tracked, res startResult) {
	if res.aborted {
		return
	}
	r := res.rec
	t.want = res.want
	var se *run.StartupError
	switch {
	case res.err == nil:
		ok := s.write(t, func(rec *store.Record) {
			rec.Status, rec.Backoff, rec.GaveUp = store.StatusRunning, "", false
			if res.event != store.EventStart {
				rec.Restarts++
			}
		}, res.event, r.PID, run.StartDetail(r))
		if !ok {
			return
		}
		t.started = r.StartedAt
		s.log.Printf("%s: %s, pid %d", t.name, res.event, r.PID)
		if res.leader.Ended() {
			t.follow = true // it daemonized: its tree is what runs
		} else {
			s.watchLeader(t, res.leader)
		}
	case errors.As(res.err, &se):
		s.log.Printf("%s: %v", t.name, res.err)
		detail := run.StartDetail(r)
		detail["code"], detail["signal"], detail["stderr"] = se.Code, se.Signal, se.StderrTail
		s.failed(t, exitInfo{se.Code, se.Signal, true, r.ExitedAt}, r.StartedAt, detail)
	default:
		s.log.Printf("%s: %v", t.name, res.err)
		detail := map[string]any{"error": res.err.Error()}
		if nre := (*run.NotReadyError)(nil); errors.As(res.err, &nre) {
			detail["not_ready"] = nre.Error()
		}
		s.failed(t, exitInfo{code: -1, known: true, at: time.Now()}, time.Now(), detail)
	}
}

// failed records a start that failed in its window: the guard tries again
// with backoff; a watched record waits for a change.
func (s *supervisor) failed(t *tracked, e exitInfo, startedAt time.Time, detail map[string]any) {
	r, err := s.db.Get(t.name)
	if err != nil {
		return
	}
	status, delay, ok := s.recordEnd(t, r, e, e.at.Sub(startedAt), store.StatusFailed, store.EventFailed, detail)
	if !ok {
		return
	}
	s.scheduled(t, status, delay, e.at, r)
}

// recordEnd records that r's process ended (event ev, after running for
// ranFor): guarded, it is restarting after the backoff's next delay, or
// errored when the guard gives up; otherwise its status becomes status. It
// reports false when the record changed meanwhile, which wins.
func (s *supervisor) recordEnd(t *tracked, r store.Record, e exitInfo, ranFor time.Duration, status store.Status,
	ev store.EventKind, detail map[string]any) (store.Status, time.Duration, bool) {
	delay, giveUp := time.Duration(0), false
	if r.Guard {
		status = store.StatusRestarting
		if delay, giveUp = t.backoff.Next(ranFor); giveUp {
			status = store.StatusErrored
		}
	}
	ok := s.write(t, func(rec *store.Record) {
		rec.Status, rec.ExitCode, rec.ExitSignal, rec.ExitedAt = status, e.code, e.signal, e.at
		rec.Backoff, rec.GaveUp = "", giveUp
		if status == store.StatusRestarting {
			rec.Backoff = delay.String()
		}
	}, ev, r.PID, detail)
	return status, delay, ok
}

// crashed records the end of a leader after its window. Guarded, it is
// restarted after the backoff, or given up after MaxRestarts; watched only,
// it waits for a change.
func (s *supervisor) crashed(t *tracked, e exitInfo) {
	r, err := s.db.Get(t.name)
	if err != nil {
		return
	}
	ranFor := e.at.Sub(t.started)
	detail := map[string]any{"code": e.code, "signal": e.signal, "ran_for": ranFor.Round(time.Millisecond).String()}
	if !e.known {
		detail["code"], detail["status"] = nil, "not collected: the supervisor was not its parent"
	}
	status, delay, ok := s.recordEnd(t, r, e, ranFor, r.Status, store.EventExit, detail)
	if !ok {
		return
	}
	s.log.Printf("%s: pid %d ended (%v)", t.name, r.PID, detail)
	s.scheduled(t, status, delay, e.at, r)
}

// scheduled sets up the guard's next try after an end, or its giving up.
func (s *supervisor) scheduled(t *tracked, status store.Status, delay time.Duration, at time.Time, r store.Record) {
	switch status {
	case store.StatusRestarting:
		t.retryAt = at.Add(delay)
		s.db.AddEvent(store.Event{Name: t.name, Event: store.EventBackoff, PID: r.PID, Detail: map[string]any{"delay": delay.String()}})
		s.log.Printf("%s: restarting in %v", t.name, delay)
	case store.StatusErrored:
		s.db.AddEvent(store.Event{Name: t.name, Event: store.EventGuardGaveUp, PID: r.PID,
			Detail: map[string]any{"restarts": r.MaxRestarts}})
		s.log.Printf("%s: gave up after %d restarts in a row", t.name, r.MaxRestarts)
	}
}

// due starts the guard's tries whose time has come.
func (s *supervisor) due() {
	now := time.Now()
	for _, t := range s.recs {
		if t.busy || t.retryAt.IsZero() || now.Before(t.retryAt) {
			continue
		}
		t.retryAt = time.Time{}
		r, err := s.db.Get(t.name)
		if err != nil || identOf(r) != t.want || !Needs(r) {
			continue // the next scan sees what changed
		}
		s.launch(t, r, store.EventGuardRestart)
	}
}

// changed restarts t after a change of its files: the old tree ends
// gracefully first.
func (s *supervisor) changed(t *tracked) {
	what := t.change
	t.change = ""
	r, err := s.db.Get(t.name)
	if err != nil || identOf(r) != t.want || !Needs(r) || !r.Watch {
		return
	}
	s.log.Printf("%s: change in %s: restarting", t.name, what)
	t.backoff.Reset()
	t.busy, t.leader, t.follow, t.retryAt = true, nil, false, time.Time{}
	go func() {
		if _, err := stop.TreeOf(ps.OwnerOf(r), s.timeout); err != nil {
			s.log.Printf("%s: %v", r.Name, err)
		}
		s.db.AddEvent(store.Event{Name: r.Name, Event: store.EventStop, PID: r.PID, Detail: map[string]any{"reason": "change in " + what}})
		s.events <- event{kind: evStarted, name: r.Name, t: t, start: s.start(r, identOf(r), store.EventRestart)}
	}()
}

func stopTimeout() time.Duration {
	d, err := stop.TimeoutFromEnv()
	if err != nil {
		return stop.DefaultTimeout
	}
	return d
}

// treeRuns reports whether what r started still runs: its tree, or for
// `docker run -d` its container.
func treeRuns(snap ps.Table, r store.Record) bool {
	o := ps.OwnerOf(r)
	if len(snap.MembersOf(o, true)) > 0 {
		return true
	}
	if snap.Unsure() { // it may have missed a daemon forked just then
		if m, _, err := ps.MembersNow(o, nil, time.Now()); err != nil || len(m) > 0 {
			return true
		}
	}
	if docker.IsDocker(r.Command) {
		procs, err := ps.Inspect(context.Background(), []store.Record{r}, ps.Options{})
		return err != nil || procs[0].Running
	}
	return false
}
