package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"bgrun/docker"
	"bgrun/ps"
	"bgrun/run"
	"bgrun/run/boot"
	"bgrun/stop"
	"bgrun/store"
)

// The supervisor is one process per store (`bgrun --_supervise STORE`), the
// owner of every process of its store. Every start is a request to it over
// its socket (run.Ask), or one of its own (the guard's tries, the watcher's
// and the duties' restarts), and it stays the parent of what it starts, so
// it sees every exit with its code or signal and records it through the
// store's lifecycle (store.DB.Ended). It runs while any record of its store
// runs, waits for its guard or is watched, and exits when none does.
//
// Its loop is one goroutine that owns what it tracks; starts, ends and
// requests run in goroutines of their own and come back to it as events.
// Every write it makes is a transition that checks the record still says
// what the supervisor last saw: a stop, a delete or a start from elsewhere
// in between always wins.

const (
	// tick is how often the loop wakes: a change of the store is noticed
	// within it.
	tick = 100 * time.Millisecond
	// rescan is how often every record is read even when the store seems
	// unchanged, and followed trees are looked at.
	rescan = time.Second
	// idleExit is how long the supervisor stays with nothing to do.
	idleExit = time.Second
	// storeCheck is how often the supervisor makes sure its store file is
	// still the one it opened.
	storeCheck = 2 * time.Second
)

// Options tune a supervisor.
type Options struct {
	// Grace and StopTimeout are the defaults of records that store none
	// (written by an older bgrun), as main read them.
	Grace, StopTimeout time.Duration
	// Boot resurrects the wanted records once the supervisor listens: the
	// boot unit of `bgrun startup` runs the supervisor so.
	Boot bool
}

// A duty is one job the supervisor does for the records that want it.
type duty interface {
	// wants reports whether r needs this duty now.
	wants(r store.Record) bool
	// attach starts the duty for t; detach ends it (t is dropped, or no
	// longer wants it).
	attach(s *supervisor, t *tracked, r store.Record)
	detach(t *tracked)
}

// duties are the supervisor's duties per tracked record besides the guard;
// rotation, health checks and memory limits are periodic (duty_periodic.go).
var duties = []duty{watchDuty{}}

// tracked is one record the supervisor keeps: one whose process it follows,
// whose guard waits for its next try, or that it watches.
type tracked struct {
	name   string
	marker string      // the start it follows
	leader *run.Leader // the leader watched; nil when none
	// follow: the leader is not known or ended (it daemonized): its tree is
	// looked at every rescan instead.
	follow  bool
	busy    bool      // a start or an end of it runs in a goroutine
	retryAt time.Time // the guard's next try; zero when none
	duties  map[duty]bool
	// watched, watchReady and change belong to watchDuty.
	watched    context.CancelFunc
	watchReady <-chan struct{}
	change     string
}

type eventKind int

const (
	evStarted eventKind = iota // a start ended (well or not)
	evExit                     // a leader ended
	evEnded                    // what was left of an ended tree was ended
	evChange                   // watched files changed
)

type event struct {
	kind eventKind
	name string
	// t is who the event is for: an event for a record dropped and taken
	// again since is for a former keeping of it, and is ignored.
	t       *tracked
	leader  *run.Leader
	res     run.Result
	err     error
	request bool // evStarted: of a request (else the supervisor's own)
	// ack, for a request's evStarted, hears once the loop follows what
	// was started, with what to wait for before answering (the watcher's
	// first snapshot), or nil.
	ack    chan (<-chan struct{})
	exit   store.Exit
	change string
}

type supervisor struct {
	db     *store.DB
	log    *log.Logger
	self   store.Ident
	opt    Options
	recs   map[string]*tracked
	events chan event
	// version and scanned say when the records were last read.
	version int64
	scanned time.Time
	idle    time.Time
	// ctx ends with the supervisor; starts is ended when the store is gone,
	// which fails the starts going on.
	ctx        context.Context
	starts     context.Context
	stopStarts context.CancelCauseFunc
	// periodic decides rotation, health checks and memory limits (see
	// duty_periodic.go).
	periodic dutyChecks
	checked  []store.Record // the running records of the last scan
	checkAt  time.Time
	// storeFile is the store file as opened; storeAt when it was checked.
	storeFile os.FileInfo
	storeAt   time.Time
	// attached is set after the first scan: that one looks at every
	// stopped record for a tree left running, later ones at those tracked.
	attached bool

	// mu guards what request goroutines share with the loop: how many
	// requests are going on, the names they start, and closing, set once
	// the supervisor has decided to exit.
	mu       sync.Mutex
	active   int
	inflight map[string]int
	closing  bool
}

// Supervise is the supervisor of the store at dbPath (`bgrun --_supervise`).
// It returns at once, with no error, when another supervisor of the store
// runs, and when no record needs it (so a boot unit's supervisor exits 0
// and is not started again).
func Supervise(ctx context.Context, dbPath string, opt Options) error {
	// Nothing is made beside a path that is no store, and a missing store
	// has nothing running: a supervisor never makes one.
	switch fi, err := os.Stat(dbPath); {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("store %s: %w", dbPath, err)
	case !fi.Mode().IsRegular() || !store.HasDatabaseHeaderFile(dbPath):
		return store.Errorf(store.KindBadInput, "%s is not a bgrun store", dbPath)
	}
	// A starter may be probing the lock this instant: try for a while.
	var unlock func()
	for deadline := time.Now().Add(time.Second); ; {
		u, ok, err := store.Flock(store.SupervisorLock(dbPath), false)
		if err != nil {
			return err
		}
		if ok {
			unlock = u
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "bgrun supervisor: another supervisor of %s runs; exiting\n", dbPath)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer unlock()
	self := ps.Self()
	if f, _, err := store.OpenPrivate(store.SupervisorLock(dbPath), os.O_WRONLY|os.O_TRUNC); err == nil {
		fmt.Fprintf(f, "%d %d\n", self.PID, self.Ticks) // for a person who wonders who holds it
		f.Close()
	}
	fi, err := os.Stat(dbPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no store, so nothing runs of it; a supervisor never makes one
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", dbPath, err)
	}
	db, err := store.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	s := &supervisor{db: db, log: log.New(os.Stderr, "bgrun supervisor: ", log.LstdFlags), self: self, opt: opt,
		recs: map[string]*tracked{}, events: make(chan event, 64), idle: time.Now(), ctx: ctx,
		inflight: map[string]int{}, storeFile: fi, storeAt: time.Now()}
	// Starts outlive a SIGTERM of the supervisor (the next one finishes
	// them); only a store that is gone ends them.
	s.starts, s.stopStarts = context.WithCancelCause(context.Background())
	defer s.stopStarts(nil)
	s.periodic.Logf = s.log.Printf
	defer s.periodic.Wait()
	// A long-lived process with a small live heap: collect often rather
	// than let the heap grow to twice what it holds.
	debug.SetGCPercent(20)
	s.log.Printf("supervising %s (pid %d)", dbPath, s.self.PID)
	defer s.log.Print("exiting")
	s.endOrphanProbes()
	s.scan()
	ln, err := listen(dbPath)
	if err != nil {
		return err
	}
	defer ln.Close()
	go s.serve(ln)
	if opt.Boot {
		go s.boot()
	}
	return s.loop(ctx, ln)
}

// endOrphanProbes ends the readiness and health checks that a supervisor
// killed meanwhile left running: they belong to no record.
func (s *supervisor) endOrphanProbes() {
	snap, err := ps.Snapshot()
	if err != nil {
		return
	}
	for _, m := range snap.OrphanProbes() {
		s.log.Printf("ending a check left running by a supervisor that was killed (%s)", m)
		stop.TreeOf(ps.Owner{Instance: m}, 0)
	}
}

// listen binds the supervisor's socket, 0600, replacing a stale one: the
// caller holds the supervisor's lock, so no other supervisor listens there.
func listen(dbPath string) (net.Listener, error) {
	addr := run.Socket(dbPath)
	if addr[0] != '@' {
		if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(addr)
		}
	}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, fmt.Errorf("supervisor socket: %w", err)
	}
	if addr[0] != '@' {
		if err := os.Chmod(addr, 0o600); err != nil {
			ln.Close()
			return nil, fmt.Errorf("supervisor socket: %w", err)
		}
	}
	return ln, nil
}

// boot starts the wanted records, as `bgrun resurrect` does, asking this
// very supervisor.
func (s *supervisor) boot() {
	w := logWriter{s.log}
	if err := boot.Resurrect(s.ctx, s.db, w, boot.ResurrectOptions{
		Start: run.Options{Grace: s.opt.Grace, StopTimeout: s.opt.StopTimeout}}); err != nil {
		s.log.Printf("resurrect: %v", err)
	}
}

// logWriter writes each line to the supervisor's log.
type logWriter struct{ l *log.Logger }

func (w logWriter) Write(b []byte) (int, error) {
	w.l.Print(string(b))
	return len(b), nil
}

func (s *supervisor) loop(ctx context.Context, ln net.Listener) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil // the processes run on; the next supervisor adopts them
		case ev := <-s.events:
			s.handle(ev)
		case <-t.C:
		}
		if s.storeGone() {
			s.abandon(ln)
			return nil
		}
		if v, err := s.db.DataVersion(ctx); err == nil && v != s.version || time.Since(s.scanned) >= rescan {
			s.version = v
			s.scan()
		}
		s.due()
		s.checkDuties()
		if s.needed() {
			s.idle = time.Now()
		} else if time.Since(s.idle) > idleExit && s.close() {
			ln.Close()
			return nil
		}
	}
}

// needed reports whether the supervisor has something to do: a record it
// tracks, or a request going on.
func (s *supervisor) needed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs) > 0 || s.active > 0
}

// close decides to exit, unless a request came meanwhile: from then on a
// request is answered "closing", and its command asks the next supervisor.
func (s *supervisor) close() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recs) > 0 || s.active > 0 {
		return false
	}
	s.closing = true
	return true
}

// storeGone reports whether the store file was deleted or replaced since
// the supervisor opened it: its records are then where no bgrun can list
// them.
func (s *supervisor) storeGone() bool {
	if time.Since(s.storeAt) < storeCheck {
		return false
	}
	s.storeAt = time.Now()
	fi, err := os.Stat(s.db.Path())
	return err != nil || !os.SameFile(fi, s.storeFile)
}

// abandon ends everything of a store that was deleted or replaced, as
// `bgrun --nuke` would have: no process may run where no bgrun can list
// it. It writes nothing to the store, and never makes a new one.
func (s *supervisor) abandon(ln net.Listener) {
	s.log.Printf("the store %s was deleted or replaced: stopping what it started, then exiting", s.db.Path())
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	ln.Close()
	s.stopStarts(errors.New("its store was deleted or replaced")) // they fail, ending what they spawned
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		s.mu.Lock()
		n := s.active
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case ev := <-s.events:
			if ev.kind == evStarted && ev.err == nil {
				s.recs[ev.name] = &tracked{name: ev.name, marker: ev.res.Record.Instance}
			}
			if ev.ack != nil {
				ev.ack <- nil
			}
		case <-time.After(tick):
		}
	}
	var wg sync.WaitGroup
	n := 0
	for _, t := range s.recs {
		if t.marker == "" {
			continue
		}
		o := ps.Owner{Instance: t.marker}
		if t.leader != nil {
			o.PID, o.Ticks = t.leader.PID, t.leader.Ticks
		}
		n++
		wg.Go(func() {
			if _, err := stop.TreeOf(o, s.opt.StopTimeout); err != nil {
				s.log.Printf("%s: %v", t.name, err)
			}
		})
	}
	wg.Wait()
	s.log.Printf("stopped %d process%s of the deleted store", n, map[bool]string{true: "", false: "es"}[n == 1])
}

// scan reads every record and brings what the supervisor tracks in line
// with it.
func (s *supervisor) scan() {
	s.scanned = time.Now()
	recs, err := s.db.List()
	if err != nil {
		s.log.Printf("read records: %v", err)
		return
	}
	s.noteDuties(recs)
	seen := map[string]bool{}
	var snap *ps.Table
	snapshot := func() (ps.Table, bool) {
		if snap == nil {
			t, err := ps.Snapshot()
			if err != nil {
				s.log.Printf("process snapshot: %v", err)
				return t, false
			}
			snap = &t
		}
		return *snap, true
	}
	for _, r := range recs {
		seen[r.Name] = true
		t := s.recs[r.Name]
		if (t != nil && t.busy) || s.starting(r.Name) {
			continue // a start or an end of it is going on here
		}
		switch r.Status {
		case store.StatusStopped:
			// What a stop that was killed left running is stopped here.
			if t != nil && (t.follow || (t.leader != nil && !t.leader.Ended())) || t == nil && !s.attached {
				if sn, ok := snapshot(); ok && len(sn.MembersOf(ps.OwnerOf(r), true)) > 0 {
					s.finishStop(r)
					continue
				}
			}
			if t != nil {
				s.drop(t)
			}
			continue
		case store.StatusStarting:
			if r.SupervisorPID == s.self.PID && r.SupervisorTicks == s.self.Ticks {
				continue // a start of this supervisor's own, before its spawn
			}
			if !ps.Alive(r.SupervisorPID, r.SupervisorTicks) {
				s.settle(r)
			}
			continue
		case store.StatusRunning:
			if t == nil || t.marker != r.Instance {
				if sn, ok := snapshot(); ok {
					s.attach(r, sn)
				}
			} else if t.follow {
				if sn, ok := snapshot(); ok && !treeRuns(sn, r) {
					s.log.Printf("%s: its tree ended", r.Name)
					t.follow = false
					s.ended(t, store.Exit{Code: -1, At: time.Now()})
				}
			}
		case store.StatusRestarting:
			if t == nil {
				t = s.track(r)
			}
			if t.retryAt.IsZero() {
				t.retryAt = r.ExitedAt.Add(r.Backoff)
			}
		default: // failed, exited, killed, errored: only a watch keeps it
			if t != nil && !r.Watch {
				s.drop(t)
			}
			if t == nil && r.Watch {
				s.track(r)
			}
		}
		if t = s.recs[r.Name]; t != nil {
			s.dutiesOf(t, r)
		}
	}
	for name, t := range s.recs {
		if !seen[name] {
			s.drop(t)
		}
	}
	s.attached = true
}

// finishStop ends the tree of r, stopped on purpose, that still runs: the
// command that stopped it ended first (killed, or Ctrl-C). What still runs
// at the stop's deadline (r.KillBy) gets SIGKILL, as that command would have
// done; a stop going on (it holds the record's lock) is left to finish, and
// a stop that comes meanwhile ends it sooner.
func (s *supervisor) finishStop(r store.Record) {
	unlock, ok, err := s.db.TryLock(r.Name)
	if err != nil || !ok {
		return // a stop goes on; the next scan looks again
	}
	unlock()
	t := s.recs[r.Name]
	if t == nil {
		t = s.track(r)
	}
	t.busy = true
	s.log.Printf("%s: stopped, but its tree runs: the command that stopped it ended first; SIGKILL at %s",
		r.Name, r.KillBy.Local().Format(time.TimeOnly))
	o := ps.OwnerOf(r)
	go func() {
		for time.Now().Before(r.KillBy) {
			if m, _, err := ps.MembersNow(o, nil, time.Now()); err == nil && len(m) == 0 {
				break
			}
			time.Sleep(min(time.Until(r.KillBy), 200*time.Millisecond))
		}
		res, err := stop.TreeOf(o, 0) // what is left is late: SIGKILL
		if err != nil {
			s.log.Printf("%s: %v", r.Name, err)
		}
		e := store.Exit{Code: -1, Signal: "SIGKILL", Known: true, At: time.Now()}
		if len(res.Killed) > 0 { // else it ended in time, or another stop ended it
			s.db.StopDone(r.Name, r.Instance, &e, store.Detail{Killed: len(res.Killed),
				Reason: "the command that stopped it ended first"})
		}
		s.events <- event{kind: evEnded, name: r.Name, t: t, exit: e}
	}()
}

// starting reports whether a request of this supervisor is starting the
// record named name: its goroutine will say how it went.
func (s *supervisor) starting(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight[name] > 0
}

// track starts keeping r.
func (s *supervisor) track(r store.Record) *tracked {
	t := &tracked{name: r.Name, marker: r.Instance, duties: map[duty]bool{}}
	s.recs[r.Name] = t
	return t
}

// dutiesOf attaches and detaches t's duties as r wants them.
func (s *supervisor) dutiesOf(t *tracked, r store.Record) {
	for _, d := range duties {
		switch w := d.wants(r) && r.Status != store.StatusStopped; {
		case w && !t.duties[d]:
			t.duties[d] = true
			d.attach(s, t, r)
		case !w && t.duties[d]:
			delete(t.duties, d)
			d.detach(t)
		}
	}
}

// attach takes up a running record whose process this supervisor did not
// start (its predecessor did, and was killed): it follows its leader by
// pidfd (its exit status cannot be collected then), or its tree, and marks
// itself on the record, so lists show it supervised. A record whose process
// ended while no supervisor watched it is recorded ended, status unknown.
func (s *supervisor) attach(r store.Record, snap ps.Table) *tracked {
	if old := s.recs[r.Name]; old != nil {
		s.drop(old)
	}
	t := s.track(r)
	s.db.Update(r.Name, func(rec *store.Record) error {
		if rec.Instance == r.Instance {
			rec.SupervisorPID, rec.SupervisorTicks = s.self.PID, s.self.Ticks
		}
		return nil
	})
	switch {
	case snap.Alive(r.PID, r.StartTicks):
		s.log.Printf("%s: attached to pid %d", r.Name, r.PID)
		s.watchLeader(t, run.Adopt(r.PID, r.StartTicks))
	case treeRuns(snap, r):
		s.log.Printf("%s: attached to its tree", r.Name)
		t.follow = true
	default:
		s.log.Printf("%s: ended while no supervisor watched it", r.Name)
		s.ended(t, store.Exit{Code: -1, At: time.Now()})
	}
	return t
}

// settle finishes a start whose supervisor was killed during it. When a
// process carrying its marker runs, the start goes on here: what is left of
// its window and its readiness check, then running or failed (run.Resume);
// its exit status will be unknown. When none does, the start failed. A
// replace (a restart, --force) interrupted before its own start began is
// undone: the old process runs on, or the start failed.
func (s *supervisor) settle(r store.Record) {
	members, snap, err := ps.MembersNow(ps.OwnerOf(r), nil, time.Now())
	if err != nil {
		return
	}
	replace := !r.KillBy.IsZero()
	if len(members) == 0 {
		why := "its supervisor ended during the start"
		if replace {
			why = "its supervisor ended during a restart"
		}
		s.log.Printf("%s: its start was interrupted with nothing left running", r.Name)
		if nr, err := s.db.Interrupted(r.Name, r.Instance, why); err == nil && nr.Status == store.StatusRestarting {
			t := s.track(nr)
			t.retryAt = nr.ExitedAt.Add(nr.Backoff)
		}
		return
	}
	leader, found := snap.LeaderOf(r)
	if replace || !found {
		// Only what runs is known: it runs on, unjudged.
		ev, why := store.EventStart, "started by a supervisor that was killed; found running by its marker"
		if replace {
			ev, why = "", ""
		}
		if _, err = s.db.Adopted(r.Name, r.Instance, func(rec *store.Record) {
			if found {
				rec.PID, rec.PGID, rec.StartTicks = leader.PID, leader.PGID, leader.StartTicks
			}
			if rec.StartedAt.IsZero() {
				rec.StartedAt = time.Now()
			}
			rec.SupervisorPID, rec.SupervisorTicks = s.self.PID, s.self.Ticks
		}, ev, why); err != nil {
			return
		}
		s.log.Printf("%s: its interrupted start (or restart) runs on, pid %d", r.Name, leader.PID)
		t := s.track(r)
		if found {
			s.watchLeader(t, run.Adopt(leader.PID, leader.StartTicks))
		} else {
			t.follow = true
		}
		return
	}
	s.log.Printf("%s: finishing its interrupted start, pid %d", r.Name, leader.PID)
	t := s.track(r)
	t.busy = true
	go func() {
		res, err := run.Resume(s.starts, s.db, r, run.Adopt(leader.PID, leader.StartTicks))
		s.events <- event{kind: evStarted, name: r.Name, t: t, res: res, err: err}
	}()
}

// drop stops keeping t; its process, if any, runs on.
func (s *supervisor) drop(t *tracked) {
	for d := range t.duties {
		d.detach(t)
	}
	delete(s.recs, t.name)
}

// watchLeader has l's end come back to the loop as an evExit event.
func (s *supervisor) watchLeader(t *tracked, l *run.Leader) {
	t.leader, t.follow = l, false
	name := t.name
	l.OnEnd(func() { s.events <- event{kind: evExit, name: name, t: t, leader: l} })
}

func (s *supervisor) handle(ev event) {
	if ev.kind == evStarted {
		s.started(ev)
		if ev.ack != nil {
			var ready <-chan struct{}
			if t := s.recs[ev.name]; t != nil {
				ready = t.watchReady
			}
			ev.ack <- ready
		}
		return
	}
	t := s.recs[ev.name]
	if t == nil || ev.t != t {
		return
	}
	switch ev.kind {
	case evExit:
		if ev.leader != t.leader || t.busy {
			return // an old leader's end, already dealt with
		}
		t.leader = nil
		code, sig, known, at := ev.leader.Exit()
		e := store.Exit{Code: code, Signal: sig, Known: known, At: at}
		o := ps.Owner{PID: ev.leader.PID, Ticks: ev.leader.Ticks, Instance: t.marker}
		m, _, err := ps.MembersNow(o, nil, time.Now())
		if err == nil && len(m) > 0 && known && code == 0 && sig == "" {
			// It daemonized after its window: its tree is what runs.
			s.log.Printf("%s: its leader exited 0, its tree runs on", t.name)
			t.follow = true
			break
		}
		if err != nil || len(m) == 0 {
			s.ended(t, e)
			break
		}
		// What the start left (a child that outlived the leader, a daemon
		// that escaped with setsid) ends with it: the record ended.
		t.busy = true
		timeout := s.timeoutOf(t.name)
		go func() {
			if _, err := stop.TreeOf(o, timeout); err != nil {
				s.log.Printf("%s: %v", t.name, err)
			}
			s.events <- event{kind: evEnded, name: t.name, t: t, exit: e}
		}()
	case evEnded:
		t.busy = false
		s.ended(t, ev.exit)
	case evChange:
		t.change = ev.change
	}
	if t.change != "" && !t.busy {
		s.changed(t)
	}
}

// timeoutOf is the stop timeout of the record named name.
func (s *supervisor) timeoutOf(name string) time.Duration {
	if r, err := s.db.Get(name); err == nil && r.StopTimeout > 0 {
		return r.StopTimeout
	}
	return s.opt.StopTimeout
}

// started takes the outcome of a start: a process to follow, or the guard's
// next try.
func (s *supervisor) started(ev event) {
	if ev.request {
		s.mu.Lock()
		if s.inflight[ev.name]--; s.inflight[ev.name] <= 0 {
			delete(s.inflight, ev.name)
		}
		s.mu.Unlock()
	}
	t := s.recs[ev.name]
	if t != nil && !ev.request {
		t.busy = false
	}
	if ev.err != nil {
		if !errors.Is(ev.err, store.ErrChanged) {
			s.log.Printf("%s: %v", ev.name, firstLine(ev.err.Error()))
		}
		s.version = -1 // read what the start left at once
		return
	}
	r := ev.res.Record
	if t == nil || t.marker != r.Instance {
		if t != nil {
			s.drop(t)
		}
		t = s.track(r)
	}
	t.retryAt, t.change = time.Time{}, ""
	s.log.Printf("%s: running, pid %d", r.Name, r.PID)
	if ev.res.Leader.Ended() {
		t.follow = true // it daemonized: its tree is what runs
	} else {
		s.watchLeader(t, ev.res.Leader)
	}
	s.dutiesOf(t, r)
}

// ended records the end of t's process after its start: exited, killed, or
// under its guard restarting (or given up). A watched record stays kept,
// waiting for a change.
func (s *supervisor) ended(t *tracked, e store.Exit) {
	r, err := s.db.Get(t.name)
	if err != nil {
		s.drop(t)
		return
	}
	d := store.Detail{}
	if !r.StartedAt.IsZero() {
		d.RanFor = e.At.Sub(r.StartedAt).Round(time.Millisecond).String()
	}
	nr, err := s.db.Ended(t.name, t.marker, e, d)
	if err != nil {
		if !errors.Is(err, store.ErrChanged) {
			s.log.Printf("%s: record its end: %v", t.name, err)
		}
		s.version = -1 // stopped or started anew: the next scan sees which
		return
	}
	how := nr.ExitSignal
	switch {
	case !e.Known:
		how = "exit status unknown"
	case how == "":
		how = fmt.Sprintf("exit code %d", nr.ExitCode)
	}
	s.log.Printf("%s: pid %d ended (%s, ran %s): %s", t.name, r.PID, how, d.RanFor, nr.Status)
	switch nr.Status {
	case store.StatusRestarting:
		t.retryAt = nr.ExitedAt.Add(nr.Backoff)
	case store.StatusErrored:
		s.log.Printf("%s: gave up after %d restarts in a row", t.name, nr.MaxRestarts)
	}
	if nr.Status != store.StatusRestarting && !nr.Watch {
		s.drop(t)
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
		if err != nil || r.Status != store.StatusRestarting {
			continue // the next scan sees what changed
		}
		s.launch(t, run.Options{Name: t.name, Restart: true, Event: store.EventGuardRestart,
			Expect: store.Cond{Marker: r.Instance, Status: []store.Status{store.StatusRestarting}}})
	}
}

// changed restarts t after a change of its files, whatever state it is in
// (but stopped): the old tree ends gracefully first.
func (s *supervisor) changed(t *tracked) {
	what := t.change
	t.change = ""
	r, err := s.db.Get(t.name)
	if err != nil || !r.Watch || r.Status == store.StatusStopped || r.Status == store.StatusStarting {
		return
	}
	s.log.Printf("%s: change in %s: restarting", t.name, what)
	s.launch(t, run.Options{Name: t.name, Restart: true, Reason: "change in " + what,
		Expect: store.Cond{Marker: r.Instance, Status: []store.Status{r.Status}}})
}

// launch runs a start of the supervisor's own (the guard's, the watcher's,
// a duty's) in a goroutine; its outcome comes back as evStarted.
func (s *supervisor) launch(t *tracked, o run.Options) {
	t.busy, t.retryAt = true, time.Time{}
	go func() {
		res, err := run.Start(s.starts, s.db, o, logWriter{s.log})
		s.events <- event{kind: evStarted, name: o.Name, t: t, res: res, err: err}
	}()
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

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
