package watch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"bgrun/ps"
	"bgrun/run"
	"bgrun/store"
)

// The supervisor's files live beside the store, one set per store.
func lockPath(dbPath string) string      { return dbPath + ".supervisor.lock" }
func startLockPath(dbPath string) string { return dbPath + ".supervisor-start.lock" }

// LogPath returns where the supervisor of the store at dbPath writes what it
// does.
func LogPath(dbPath string) string {
	return strings.TrimSuffix(dbPath, ".sqlite") + "-supervisor.txt"
}

// Needs reports whether r needs the supervisor: it is watched or guarded,
// not stopped on purpose, and not a guard that gave up (unless watched).
func Needs(r store.Record) bool {
	switch {
	case !r.Guard && !r.Watch, r.Status == store.StatusStopped:
		return false
	case r.Status == store.StatusErrored, r.Status == store.StatusFailed:
		return r.Watch
	}
	return true
}

// Running reports whether the supervisor of the store at dbPath runs: it
// holds its lock.
func Running(dbPath string) bool {
	f, err := openLock(lockPath(dbPath))
	if err != nil {
		return false
	}
	defer f.Close()
	ok, err := tryLock(f)
	return err == nil && !ok
}

// Ensure starts the store's supervisor when a record needs it and none
// runs. Any bgrun command calls it, so a killed supervisor comes back with
// the next command. Racing callers start one: they take turns on a second
// lock, and each looks again under it. It reports whether it started one.
func Ensure(db *store.DB) (bool, error) {
	if Running(db.Path()) || !anyNeeds(db) {
		return false, nil
	}
	f, err := openLock(startLockPath(db.Path()))
	if err != nil {
		return false, fmt.Errorf("supervisor lock: %w", err)
	}
	defer f.Close()
	if err := lock(f); err != nil {
		return false, fmt.Errorf("supervisor lock: %w", err)
	}
	if Running(db.Path()) || !anyNeeds(db) {
		return false, nil
	}
	pid, ticks, err := spawnSupervisor(db.Path())
	if err != nil {
		return false, err
	}
	// Hold the start lock until it holds its own lock, so the next caller
	// sees it running.
	deadline := time.Now().Add(15 * time.Second)
	for !Running(db.Path()) {
		p, ok := ps.Read(pid)
		if !ok || p.StartTicks != ticks || p.State == 'Z' {
			return false, fmt.Errorf("the supervisor ended at once; see %s", LogPath(db.Path()))
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("the supervisor did not start in time; see %s", LogPath(db.Path()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true, nil
}

func anyNeeds(db *store.DB) bool {
	recs, err := db.List()
	if err != nil {
		return false
	}
	for _, r := range recs {
		if Needs(r) || hasDuties(r) {
			return true
		}
	}
	return false
}

// hasDuties reports whether r, guarded or not, needs the supervisor for its
// periodic duties: its leader runs and its logs are rotated or its memory
// limited. Rotation is on by default, so every running record keeps the
// supervisor (it checks every RotateEvery, see README "Logs").
func hasDuties(r store.Record) bool {
	if maxSize, _ := r.LogLimits(); maxSize <= 0 && r.MaxMemory <= 0 {
		return false
	}
	if r.PID <= 0 || (r.Status != store.StatusRunning && r.Status != store.StatusStarting) {
		return false
	}
	p, ok := ps.Read(r.PID)
	return ok && p.StartTicks == r.StartTicks && p.State != 'Z'
}

func init() {
	// A plain start brings up the supervisor at once (a no-op when it runs).
	run.AfterStart = func(db *store.DB) { Ensure(db) }
}

// spawnSupervisor starts `bgrun --_supervise STORE --db STORE` detached, in
// a session of its own, with its output appended to its log.
func spawnSupervisor(dbPath string) (int, uint64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, fmt.Errorf("find bgrun's executable: %w", err)
	}
	logPath := LogPath(dbPath)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return 0, 0, err
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, 0, fmt.Errorf("supervisor log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, "--_supervise", dbPath, "--db", dbPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = filepath.Dir(dbPath)
	run.Detach(cmd)
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start the supervisor: %w", err)
	}
	pid := cmd.Process.Pid
	p, _ := ps.Read(pid)
	go cmd.Wait() // reap it if it ends while we wait for it
	return pid, p.StartTicks, nil
}

// startupWindow is the startup window, as the CLI reads it.
func startupWindow() time.Duration {
	d, err := run.GraceFromEnv()
	if err != nil {
		return run.DefaultGrace
	}
	return max(d, 0)
}

// Spawn hands a watched or guarded start to the store's supervisor (which
// stays the parent of what it starts) and waits until the start is up or
// failed its startup window. It is run.Options.Spawn: rec was saved with
// status starting. A failed first start is returned as a *GuardRetryError
// when the guard tries again.
func Spawn(db *store.DB, rec *store.Record) error {
	if rec.Watch {
		// A bad .bgrunignore fails the start here, at once, not in the
		// supervisor's log.
		if _, err := NewIgnore(rec.Dir, rec.WatchIgnore, nil); err != nil {
			db.Update(rec.Name, func(r *store.Record) error { r.Status = store.StatusFailed; return nil })
			return err
		}
	}
	mark := rec.UpdatedAt
	// The supervisor has 20 s to take the start up and as long again, plus
	// the window and the readiness wait, once it has spawned the process:
	// many starts at once on a loaded machine take their time.
	limit := rec.Window(startupWindow()) + 20*time.Second
	if rec.Ready != "" {
		limit += rec.ReadyWait()
	}
	deadline, spawned := time.Now().Add(limit), 0
	var ensured time.Time
	wait := 10 * time.Millisecond
	for {
		if time.Since(ensured) > time.Second {
			// Again now and then: a supervisor killed meanwhile comes back.
			if _, err := Ensure(db); err != nil {
				return err
			}
			ensured = time.Now()
		}
		r, err := db.Get(rec.Name)
		if err != nil {
			return err
		}
		if r.Status != store.StatusStarting {
			// The history event follows the record's change: wait for it.
			*rec = r
			if err, found := outcome(db, r, mark); found || r.Status == store.StatusStopped {
				return err
			}
		}
		if r.PID != spawned && r.PID > 0 {
			spawned, deadline = r.PID, time.Now().Add(limit)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the supervisor did not start %s in time; see %s", rec.Name, LogPath(db.Path()))
		}
		// Soon for a quick answer, then seldom: many starters waiting at
		// once must leave the machine to the supervisor.
		time.Sleep(wait)
		wait = min(2*wait, 80*time.Millisecond)
	}
}

// GuardRetryError is a failed first start of a guarded process: the guard
// tries again after Delay.
type GuardRetryError struct {
	*run.StartupError
	Delay time.Duration
}

func (e *GuardRetryError) Error() string {
	return fmt.Sprintf("%s\nThe guard tries again in %v (see: bgrun %s).", e.StartupError.Error(), e.Delay, e.Name)
}

func (e *GuardRetryError) Unwrap() error { return e.StartupError }

// outcome reads how the supervisor's first try of a start went from the
// history: its first start or failed event since mark.
func outcome(db *store.DB, r store.Record, mark time.Time) (error, bool) {
	evs, err := db.Events(r.Name, 50)
	if err != nil {
		return err, true
	}
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.At.Before(mark) || (e.Event != store.EventStart && e.Event != store.EventFailed) {
			continue
		}
		if e.Event == store.EventStart {
			return nil, true
		}
		if msg, ok := e.Detail["not_ready"].(string); ok {
			// Not ready in time: the message says it all.
			if r.Status == store.StatusRestarting {
				d, _ := time.ParseDuration(r.Backoff)
				msg += fmt.Sprintf("\nThe guard tries again in %v (see: bgrun %s).", d, r.Name)
			}
			return store.Errorf(store.KindFailedStart, "%s", msg), true
		}
		se := &run.StartupError{Name: r.Name, Window: r.Window(startupWindow()), StderrPath: r.StderrPath}
		if c, ok := e.Detail["code"].(float64); ok {
			se.Code = int(c)
		}
		se.Signal, _ = e.Detail["signal"].(string)
		se.StderrTail, _ = e.Detail["stderr"].(string)
		if msg, ok := e.Detail["error"].(string); ok {
			se.StderrTail = strings.TrimSpace(se.StderrTail + "\n" + msg)
		}
		if r.Status == store.StatusRestarting {
			d, _ := time.ParseDuration(r.Backoff)
			return &GuardRetryError{StartupError: se, Delay: d}, true
		}
		return se, true
	}
	return fmt.Errorf("%s was stopped while it started", r.Name), false
}

// GuardResult says what SetGuard did.
type GuardResult struct {
	Changed  bool // the guard flag changed
	Attached bool // the supervisor was started to watch it
}

// SetGuard turns the crash guard of the record named name on or off.
// Turning it on hands the record to the store's supervisor (started if
// missing); a guard that gave up tries again. Turning it off leaves the
// process running; the supervisor lets go of it unless it is watched.
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
			if r.Status == store.StatusErrored || r.Status == store.StatusFailed {
				r.Status, r.Backoff, r.ExitedAt = store.StatusRestarting, "0s", time.Now()
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Changed = changed
	event := store.EventGuardOff
	if on {
		event = store.EventGuardOn
	}
	if changed {
		if err := db.AddEvent(store.Event{Name: name, Event: event, PID: r.PID}); err != nil {
			return res, err
		}
	}
	if !on {
		return res, nil
	}
	res.Attached, err = Ensure(db)
	if errors.Is(err, store.ErrNotFound) {
		err = nil
	}
	return res, err
}
