package watch

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
	"time"

	"bgrun/ps"
	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
)

// pollRecord is how often a supervisor reads its record, to notice a stop,
// a delete, or its guard being turned off.
const pollRecord = 500 * time.Millisecond

// pollForeign is how often a supervisor that adopted a running child (not
// its own, so it cannot wait for it) looks whether it still runs.
const pollForeign = 200 * time.Millisecond

// Spawn starts the supervisor of rec, which starts the child, and waits
// until the child is up or failed its start. It is run.Options.Spawn.
func Spawn(db *store.DB, rec *store.Record) error {
	if rec.Watch {
		// A bad .bgrunignore fails the start here, at once, not in the
		// supervisor's log.
		if _, err := NewIgnore(rec.Dir, rec.WatchIgnore, nil); err != nil {
			db.Update(rec.Name, func(r *store.Record) error { r.Status = store.StatusFailed; return nil })
			return err
		}
	}
	logPath := store.SupervisorLog(db.Dir(), rec.Name)
	pid, ticks, err := spawnSupervisor(db.Path(), logPath, rec.Name)
	if err != nil {
		return err
	}
	// The supervisor owns the record from here; wait for it to say how the
	// start went. Its startup window is the same as the CLI's.
	deadline := time.Now().Add(startupWindow() + 15*time.Second)
	for {
		r, err := db.Get(rec.Name)
		if err != nil {
			return err
		}
		switch r.Status {
		case store.StatusRunning:
			*rec = r
			return nil
		case store.StatusFailed:
			*rec = r
			return startupError(r)
		}
		p, ok := ps.Read(pid)
		if !ok || p.StartTicks != ticks || p.State == 'Z' {
			return fmt.Errorf("the supervisor of %s ended before starting it; see %s", rec.Name, logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the supervisor of %s did not start it in time; see %s", rec.Name, logPath)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startupError(r store.Record) error {
	return run.FailedStart(r, startupWindow())
}

// spawnSupervisor starts `bgrun --_supervise NAME --db PATH` detached, in a
// session of its own, with its output appended to logPath.
func spawnSupervisor(dbPath, logPath, name string) (int, uint64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, fmt.Errorf("find bgrun's executable: %w", err)
	}
	logf, _, err := store.OpenPrivate(logPath, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return 0, 0, fmt.Errorf("supervisor log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, "--_supervise", name, "--db", dbPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	run.Detach(cmd)
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start the supervisor of %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	p, _ := ps.Read(pid)
	go cmd.Wait() // reap it if it ends while we wait for it
	return pid, p.StartTicks, nil
}

// startupWindow is the startup window, as the CLI reads it for direct starts.
func startupWindow() time.Duration {
	d, err := run.GraceFromEnv()
	if err != nil {
		return run.DefaultGrace
	}
	return max(d, 0)
}

// GuardResult says what SetGuard did.
type GuardResult struct {
	Changed  bool // the guard flag changed
	Attached bool // a new supervisor was attached to the running process
}

// SetGuard turns the crash guard of the record named name on or off. Turning
// it on for a running process without a supervisor attaches one; turning it
// off ends the supervisor (unless the record is also watched) and leaves the
// process running.
func SetGuard(db *store.DB, name string, on bool) (res GuardResult, err error) {
	unlock, err := db.Lock(name)
	if err != nil {
		return res, err
	}
	defer unlock()
	changed := false
	r, err := db.Update(name, func(r *store.Record) error {
		changed = r.Guard != on
		r.Guard = on
		if on {
			r.GaveUp = false
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Changed = changed
	event := "guard_off"
	if on {
		event = "guard_on"
	}
	if changed {
		if err := db.AddEvent(store.Event{Name: name, Event: event, PID: r.PID}); err != nil {
			return res, err
		}
	}
	procs, err := ps.Inspect([]store.Record{r}, ps.Options{})
	if err != nil {
		return res, err
	}
	p := procs[0]
	switch {
	case on && !p.Supervised && len(p.PIDs) > 0:
		res.Attached = true
		_, _, err = spawnSupervisor(db.Path(), store.SupervisorLog(db.Dir(), name), name)
		return res, err
	case !on && !r.Watch && p.Supervised:
		return res, stop.Supervisor(r, stop.Options{})
	}
	return res, nil
}

// supervisor is the state of one `bgrun --_supervise NAME` process.
type supervisor struct {
	db      *store.DB
	name    string
	backoff *Backoff
	log     *log.Logger
	grace   time.Duration

	cmd     *exec.Cmd   // the child, when it is ours
	exited  chan exit   // receives the child's exit
	pid     int         // the child's leader
	ticks   uint64      // and its start time
	started time.Time   // when it started
	foreign bool        // adopted, not started by us: poll instead of wait
	changes chan string // file changes, when watched
}

type exit struct {
	code   int
	signal string
}

// Supervise is the supervisor process of the record named name (`bgrun
// --_supervise NAME`). It starts the child unless it already runs (then it
// adopts it), restarts it on file changes (--watch) and crashes (--guard),
// records every exit in the history, and ends when the record is stopped,
// deleted, or neither watched nor guarded any more.
func Supervise(ctx context.Context, dbPath, name string) error {
	db, err := store.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	s := &supervisor{db: db, name: name, exited: make(chan exit, 1), grace: startupWindow(),
		log: log.New(os.Stderr, "bgrun supervisor "+name+": ", log.LstdFlags)}
	self, _ := ps.Read(os.Getpid())
	r, err := db.Update(name, func(r *store.Record) error {
		r.SupervisorPID, r.SupervisorTicks = os.Getpid(), self.StartTicks
		return nil
	})
	if err != nil {
		return err
	}
	s.backoff = &Backoff{FreeRestarts: DefaultFreeRestarts, Limit: r.MaxRestarts}
	s.log.Printf("supervising (watch=%v guard=%v)", r.Watch, r.Guard)
	if r.Watch {
		if err := s.startWatching(ctx, r); err != nil {
			return err
		}
	}
	if r.Status == store.StatusStarting {
		if err := s.start(r, "start"); err != nil {
			s.log.Print(err)
			return nil // the CLI reports the failed start
		}
	} else if procs, err := ps.Inspect([]store.Record{r}, ps.Options{}); err == nil && len(procs[0].PIDs) > 0 {
		s.adopt(r)
	} else if err := s.start(r, "restart"); err != nil {
		s.log.Print(err)
	}
	return s.loop(ctx)
}

func (s *supervisor) startWatching(ctx context.Context, r store.Record) error {
	logPath := store.SupervisorLog(s.db.Dir(), r.Name)
	ig, err := NewIgnore(r.Dir, r.WatchIgnore, []string{r.StdoutPath, r.StderrPath, logPath,
		s.db.Path(), s.db.Path() + "-wal", s.db.Path() + "-shm", s.db.Path() + "-journal"})
	if err != nil {
		return err
	}
	s.changes = make(chan string, 1)
	p := &Poller{Root: r.Dir, Ignore: ig}
	go func() {
		err := p.Run(ctx, func(changed []string) {
			what := strings.Join(changed[:min(3, len(changed))], ", ")
			if len(changed) > 3 {
				what += fmt.Sprintf(" and %d more", len(changed)-3)
			}
			select {
			case s.changes <- what:
			default: // a restart is already pending
			}
		})
		if err != nil && ctx.Err() == nil {
			s.log.Printf("watcher stopped: %v", err)
		}
	}()
	return nil
}

// adopt takes over a child that already runs (the supervisor was restarted
// by `--guard` after the old one died). Not being its parent, it polls.
func (s *supervisor) adopt(r store.Record) {
	s.pid, s.ticks, s.started, s.foreign, s.cmd = r.PID, r.StartTicks, r.StartedAt, true, nil
	s.log.Printf("adopted running pid %d", r.PID)
	go func(pid int, ticks uint64) {
		for {
			t, err := ps.Snapshot()
			if err == nil && len(t.Members(pid, ticks)) == 0 {
				s.exited <- exit{code: -1}
				return
			}
			time.Sleep(pollForeign)
		}
	}(r.PID, r.StartTicks)
}

// start launches the child, waits out its startup window, and records the
// outcome. An error means it ended within the window.
func (s *supervisor) start(r store.Record, event string) error {
	if event != "start" { // a first start runs under the lock of the bgrun that asked for it
		unlock, err := s.db.Lock(s.name)
		if err != nil {
			return err
		}
		defer unlock()
	}
	env, _, err := run.Environment(&r)
	if err == nil {
		s.cmd, err = run.LaunchRecorded(s.db, &r, env)
	}
	if err != nil {
		s.record(func(rec *store.Record) { rec.Status = store.StatusFailed }, "failed", 0, map[string]any{"error": err.Error()})
		return err
	}
	s.pid, s.ticks, s.started, s.foreign = r.PID, r.StartTicks, r.StartedAt, false
	cmd := s.cmd
	done := make(chan exit, 1)
	go func() {
		cmd.Wait()
		code, sig := run.ExitStatus(cmd.ProcessState)
		done <- exit{code, sig}
	}()
	select {
	case e := <-done:
		s.cmd = nil
		s.record(func(rec *store.Record) {
			rec.PID, rec.StartTicks, rec.StartedAt, rec.Group = r.PID, r.StartTicks, r.StartedAt, r.Group
			rec.Status, rec.ExitCode, rec.ExitSignal, rec.ExitedAt = store.StatusFailed, e.code, e.signal, time.Now()
		}, "failed", r.PID, map[string]any{"code": e.code, "signal": e.signal})
		return fmt.Errorf("%s exited during startup (code %d %s)", r.Name, e.code, e.signal)
	case <-time.After(s.grace):
	}
	go func() { s.exited <- <-done }()
	s.record(func(rec *store.Record) {
		rec.PID, rec.PGID, rec.StartTicks, rec.StartedAt, rec.Group = r.PID, r.PGID, r.StartTicks, r.StartedAt, r.Group
		rec.Status, rec.Backoff = store.StatusRunning, ""
		if event != "start" {
			rec.Restarts++
		}
	}, event, r.PID, run.StartDetail(r))
	return nil
}

// errStopped keeps a supervisor from overwriting a record that was stopped
// while it worked: a deliberate stop always wins.
var errStopped = errors.New("stopped")

// record updates the record and appends a history event; errors are logged,
// since a supervisor has nobody else to tell.
func (s *supervisor) record(fn func(*store.Record), event string, pid int, detail map[string]any) {
	_, err := s.db.Update(s.name, func(r *store.Record) error {
		if r.Status == store.StatusStopped {
			return errStopped
		}
		fn(r)
		return nil
	})
	if errors.Is(err, errStopped) {
		return
	}
	if err != nil {
		s.log.Printf("update record: %v", err)
	}
	if err := s.db.AddEvent(store.Event{Name: s.name, Event: event, PID: pid, Detail: detail}); err != nil {
		s.log.Printf("history: %v", err)
	}
}

// loop waits for the child's exit, file changes and changes of the record.
func (s *supervisor) loop(ctx context.Context) error {
	tick := time.NewTicker(pollRecord)
	defer tick.Stop()
	var retry <-chan time.Time // set while a crashed child waits for its backoff
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-s.exited:
			ranFor := time.Since(s.started)
			r, ok := s.current()
			if !ok {
				return nil
			}
			detail := map[string]any{"code": e.code, "signal": e.signal, "ran_for": ranFor.Round(time.Millisecond).String()}
			if s.foreign {
				detail["code"] = nil // not our child: its exit status is unknown
			}
			s.cmd = nil
			s.record(func(rec *store.Record) {
				rec.ExitCode, rec.ExitSignal, rec.ExitedAt = e.code, e.signal, time.Now()
			}, "exit", s.pid, detail)
			s.pid = 0
			if !r.Guard {
				s.log.Printf("child exited (%v); waiting for a file change", detail)
				continue
			}
			delay, giveUp := s.backoff.Next(ranFor)
			if giveUp {
				s.log.Printf("gave up after %d restarts in a row", r.MaxRestarts)
				s.record(func(rec *store.Record) { rec.GaveUp, rec.Backoff = true, "" }, "guard_gave_up", s.pid, nil)
				if !r.Watch {
					return nil
				}
				continue
			}
			s.log.Printf("child exited (%v); restarting in %v", detail, delay)
			s.record(func(rec *store.Record) { rec.Backoff = delay.String() }, "backoff", s.pid, map[string]any{"delay": delay.String()})
			retry = time.After(delay)
		case <-retry:
			retry = nil
			r, ok := s.current()
			if !ok {
				return nil
			}
			if err := s.start(r, "guard_restart"); err != nil {
				s.log.Print(err)
				// A start that failed is a crash too: back off again.
				delay, giveUp := s.backoff.Next(0)
				if !giveUp {
					retry = time.After(delay)
				}
			}
		case what := <-s.changes:
			r, ok := s.current()
			if !ok {
				return nil
			}
			s.log.Printf("change in %s: restarting", what)
			retry = nil // the change restarts it now
			if err := s.restartForChange(r, what); err != nil {
				s.log.Printf("restart after change failed: %v (watching on)", err)
			}
		case <-tick.C:
			if _, ok := s.current(); !ok {
				return nil
			}
		}
	}
}

// current rereads the record; ok is false when the supervisor should end:
// the record is gone, stopped on purpose, or neither watched nor guarded.
func (s *supervisor) current() (store.Record, bool) {
	r, err := s.db.Get(s.name)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Print("record deleted; exiting")
		return r, false
	}
	if err != nil {
		s.log.Printf("read record: %v", err)
		return r, true // a busy store is no reason to stop supervising
	}
	if r.Status == store.StatusStopped {
		s.log.Print("stopped; exiting")
		return r, false
	}
	if !r.Watch && !r.Guard {
		s.log.Print("neither watched nor guarded any more; exiting")
		return r, false
	}
	self, _ := ps.Read(os.Getpid())
	if r.SupervisorPID != os.Getpid() || r.SupervisorTicks != self.StartTicks {
		s.log.Print("another supervisor took over; exiting")
		return r, false
	}
	return r, true
}

// restartForChange stops the child gracefully and starts it again. A start
// that fails is recorded and watching goes on.
func (s *supervisor) restartForChange(r store.Record, what string) error {
	if s.pid != 0 {
		if _, err := stop.Tree(s.pid, s.ticks, stopTimeout()); err != nil {
			return err
		}
		if s.cmd != nil {
			<-s.exited // our own child: collect its exit before starting anew
		} else {
			select {
			case <-s.exited:
			case <-time.After(time.Second):
			}
		}
		s.record(func(*store.Record) {}, "stop", s.pid, map[string]any{"reason": "change in " + what})
	}
	s.backoff.Reset()
	return s.start(r, "restart")
}

func stopTimeout() time.Duration {
	d, err := stop.TimeoutFromEnv()
	if err != nil {
		return stop.DefaultTimeout
	}
	return d
}
