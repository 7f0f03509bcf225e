package store

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The lifecycle of a record. Its status changes only through the
// transitions of this file: each checks the state it starts from and writes
// its history events in the same transaction, so a record and its history
// always agree, and of two writers that race (a stop and the end of a start,
// a start and the end of the process it replaces) exactly one wins.

// Status is what a record's status column says. The strings are part of
// `bgrun --json` and the dashboard.
type Status string

// The statuses a record can have.
const (
	// StatusStarting: a start is going on; written, with its marker,
	// before anything is spawned.
	StatusStarting Status = "starting"
	StatusRunning  Status = "running" // started, and not known to have ended
	StatusStopped  Status = "stopped" // stopped on purpose
	// StatusExited and StatusKilled: the process ended on its own after
	// its start, with an exit code (exited) or by a signal (killed).
	StatusExited Status = "exited"
	StatusKilled Status = "killed"
	StatusFailed Status = "failed" // its start failed: ended in its window, or never ready
	// StatusRestarting: a guarded record that ended waits for its next try,
	// at ExitedAt plus Backoff.
	StatusRestarting Status = "restarting"
	// StatusErrored: a guarded record whose guard gave up after
	// MaxRestarts restarts in a row.
	StatusErrored Status = "errored"
	// StatusPaused and StatusStopping are never stored: a list shows paused
	// for a running record whose leader the kernel has stopped (SIGSTOP,
	// Ctrl-Z), and stopping for a record stopped on purpose whose tree has
	// not ended yet.
	StatusPaused   Status = "paused"
	StatusStopping Status = "stopping"
)

// Ended reports whether s is the status of a process that ended on its own
// (exited, killed) rather than by a stop or a failed start.
func (s Status) Ended() bool { return s == StatusExited || s == StatusKilled }

// EventKind is the kind of a history event. The strings are stored and
// printed as they are (`bgrun history --json`, the dashboard's
// /api/history).
type EventKind string

// The kinds of history event that bgrun writes.
const (
	// EventStart: a start (or an interrupted start found running by its
	// marker); its detail holds the log sizes where the run begins.
	EventStart EventKind = "start"
	// EventRestart: a start of a record that ran before, by the user, a
	// change of watched files or a duty of the supervisor.
	EventRestart EventKind = "restart"
	// EventGuardRestart: the guard started a record again after it ended.
	EventGuardRestart EventKind = "guard_restart"
	// EventFailed: a start that ended in its startup window, was never
	// ready, or was interrupted with no process left.
	EventFailed EventKind = "failed"
	// EventExit: a process ended on its own after its start.
	EventExit EventKind = "exit"
	// EventStop: a process stopped on purpose, or before a restart for a
	// change of its files.
	EventStop EventKind = "stop"
	// EventDelete: a record removed; its history stays.
	EventDelete EventKind = "delete"
	// EventBackoff: the guard waits before its next try (detail: delay).
	EventBackoff EventKind = "backoff"
	// EventGuardGaveUp: the guard stopped trying after MaxRestarts
	// restarts in a row.
	EventGuardGaveUp EventKind = "guard_gave_up"
	// EventGuardOn and EventGuardOff: the crash guard was turned on or off.
	EventGuardOn  EventKind = "guard_on"
	EventGuardOff EventKind = "guard_off"
	// EventUnhealthy: a guarded process was restarted after failing its
	// health check several times in a row.
	EventUnhealthy EventKind = "unhealthy"
	// EventMaxMemory: a process was restarted because its tree's RSS stayed
	// above its --max-memory.
	EventMaxMemory EventKind = "max_memory"
	// EventNotReady: a start whose process never passed its readiness check
	// in time, or ended while it was awaited; a "failed" event follows.
	EventNotReady EventKind = "not_ready"
)

// Detail is what a history event says beyond its kind, stored as JSON (the
// "metadata" of `bgrun history --json`); each event fills the fields that
// apply to it.
type Detail struct {
	Command string `json:"command,omitempty"`
	// StdoutSize and StderrSize are the sizes of the log files when a run
	// began: `bgrun logs` marks each run there.
	StdoutSize *int64 `json:"stdout_size,omitempty"`
	StderrSize *int64 `json:"stderr_size,omitempty"`
	// Code and Signal say how a process ended; StatusUnknown that its exit
	// status could not be collected (it was adopted), RanFor how long it ran.
	Code          *int   `json:"code,omitempty"`
	Signal        string `json:"signal,omitempty"`
	StatusUnknown bool   `json:"status_unknown,omitempty"`
	RanFor        string `json:"ran_for,omitempty"`
	// Reason says why, in words.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	// Stderr is the tail of a failed start's stderr.
	Stderr string `json:"stderr,omitempty"`
	// Check, Ended and NotReady describe a readiness check that never passed.
	Check    string `json:"check,omitempty"`
	Ended    bool   `json:"ended,omitempty"`
	NotReady string `json:"not_ready,omitempty"`
	// Delay is the guard's wait before its next try; Restarts how many it
	// made before it gave up.
	Delay    string `json:"delay,omitempty"`
	Restarts int    `json:"restarts,omitempty"`
	// Signalled and Killed count the processes a stop sent SIGTERM and
	// SIGKILL.
	Signalled int `json:"signalled,omitempty"`
	Killed    int `json:"killed,omitempty"`
	// Raw keeps a stored detail that could not be read.
	Raw string `json:"raw,omitempty"`
}

// String is the detail as one line of JSON, "" when empty: for logs and
// `bgrun history`.
func (d Detail) String() string {
	b, _ := json.Marshal(d)
	if string(b) == "{}" {
		return ""
	}
	return string(b)
}

// Exit says how a process ended.
type Exit struct {
	Code   int    // the exit code; -1 for a signal or when not known
	Signal string // the signal that ended it, "" for none
	Known  bool   // the status was collected (bgrun was its parent)
	At     time.Time
}

// Detail returns e as a history detail.
func (e Exit) Detail() Detail {
	if !e.Known {
		return Detail{StatusUnknown: true}
	}
	code := e.Code
	return Detail{Code: &code, Signal: e.Signal}
}

// ErrChanged is the answer of a transition whose record no longer says what
// the caller expected (another writer came first): the caller's change is
// dropped, and it must undo what it did (end a process it spawned).
var ErrChanged = Errorf(KindConflict, "the record changed meanwhile")

// Cond is what a transition expects of a record before it changes it.
type Cond struct {
	// Marker: the record still names this start ("" for any).
	Marker string
	// Status: the record has one of these statuses (none for any); Not:
	// it has not this one.
	Status []Status
	Not    Status
	// Stack and Epoch: a start of a stack's process goes ahead only while
	// no `bgrun down` of that stack came since the `up` began (see
	// StackEpoch).
	Stack string
	Epoch int64
	// going: the start is still going on, not being replaced by another
	// (see Replacing): the transitions of a start check it.
	going bool
}

// going is what the transitions of the start marker expect: the record
// still names it, is starting, and no other start is replacing it.
func going(marker string) Cond {
	return Cond{Marker: marker, Status: []Status{StatusStarting}, going: true}
}

func (c Cond) Holds(r Record) bool {
	if c.Marker != "" && r.Instance != c.Marker || c.going && !r.KillBy.IsZero() || c.Not != "" && r.Status == c.Not {
		return false
	}
	if len(c.Status) == 0 {
		return true
	}
	for _, s := range c.Status {
		if r.Status == s {
			return true
		}
	}
	return false
}

// newMarker returns a fresh marker for a start of the record with id:
// "<id>.<12 hex digits>", unique across restarts and reboots.
func newMarker(id int64) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%d.%s", id, hex.EncodeToString(b[:]))
}

// change runs one transition: it reads the record named name, checks c,
// lets fn change it and name the events to append, and writes both, in one
// transaction. fn sees the record as stored.
func (db *DB) change(name string, c Cond, fn func(r *Record) []Event) (Record, error) {
	return db.write(name, func(r *Record) ([]Event, error) {
		if !c.Holds(*r) {
			return nil, ErrChanged
		}
		return fn(r), nil
	})
}

// Begin writes rec as a start going on, inserting it when new: status
// starting, no process yet, wanted, and a fresh marker (rec.Instance) that
// every process of the start will carry. Nothing may be spawned before it:
// a bgrun killed from here on leaves a record that the next supervisor
// finishes by marker or fails, never a process that no record knows. It
// fails with ErrChanged when the stored record does not meet c, or when
// the stack of c went down since its up began.
func (db *DB) Begin(rec *Record, c Cond) error {
	w, err := db.writes()
	if err != nil {
		return err
	}
	err = db.inTx(func(tx *sql.Tx) error {
		if c.Stack != "" {
			if e, err := stackEpoch(tx, c.Stack); err != nil {
				return err
			} else if e != c.Epoch {
				return fmt.Errorf("%w: bgrun down of %s came first", ErrChanged, c.Stack)
			}
		}
		cur, err := scanRecord(tx.Stmt(w.sel).QueryRow(rec.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if c.Marker != "" || len(c.Status) > 0 {
				return fmt.Errorf("%w named %q", ErrNotFound, rec.Name)
			}
			rec.ID = 0
		case err != nil:
			return err
		case !c.Holds(cur):
			return ErrChanged
		default:
			rec.ID = cur.ID
		}
		now := db.now()
		if rec.CreatedAt.IsZero() {
			rec.CreatedAt = now
		}
		rec.UpdatedAt = now
		rec.Status, rec.Wanted, rec.KillBy = StatusStarting, true, time.Time{}
		rec.PID, rec.PGID, rec.StartTicks = 0, 0, 0
		if rec.ID == 0 { // the id names the marker
			if err := upsert(tx.Stmt(w.ups), rec); err != nil {
				return err
			}
		}
		rec.Instance = newMarker(rec.ID)
		return upsert(tx.Stmt(w.ups), rec)
	})
	if err != nil && !errors.Is(err, ErrChanged) && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("start %q: %w", rec.Name, cleanErr(err))
	}
	return err
}

// Spawned records the process of the start marker: fn sets its pid, process
// group, start time and the like. The record stays starting. ErrChanged
// means the start was stopped or replaced meanwhile: what it spawned must
// be ended.
func (db *DB) Spawned(name, marker string, fn func(r *Record)) (Record, error) {
	return db.change(name, going(marker), func(r *Record) []Event {
		fn(r)
		return nil
	})
}

// Started ends the start marker well: the record is running, and the
// history has ev (start, restart or guard_restart) with d. A restart that
// bgrun made (the guard's, the watcher's, a duty's) is counted.
func (db *DB) Started(name, marker string, ev EventKind, d Detail, counted bool) (Record, error) {
	return db.change(name, going(marker), func(r *Record) []Event {
		if counted {
			r.Restarts++
		}
		r.Status, r.Backoff, r.GaveUp, r.FailReason = StatusRunning, 0, false, ""
		r.EverRan, r.Wanted = true, true
		return []Event{{Event: ev, PID: r.PID, Detail: d}}
	})
}

// StartFailed ends the start marker as failed: its process ended in its
// window (e), or was never ready and was ended (reason says why). A guarded
// record goes on to its guard's next try (see ended); a record that never
// ran is no longer wanted, so a reboot does not retry it. A try of bgrun's
// own is counted, as Started counts it.
func (db *DB) StartFailed(name, marker string, e Exit, reason string, d Detail, counted bool) (Record, error) {
	return db.startFailed(going(marker), name, e, reason, d, counted)
}

// Interrupted fails the start marker, which a supervisor killed during it
// was making, with nothing of it left running (a replace it was making
// included), as StartFailed does.
func (db *DB) Interrupted(name, marker, reason string) (Record, error) {
	return db.startFailed(Cond{Marker: marker, Status: []Status{StatusStarting}}, name,
		Exit{Code: -1, At: db.now()}, "interrupted: "+reason, Detail{Reason: "start interrupted: " + reason}, false)
}

func (db *DB) startFailed(c Cond, name string, e Exit, reason string, d Detail, counted bool) (Record, error) {
	return db.change(name, c, func(r *Record) []Event {
		r.KillBy = time.Time{}
		if counted {
			r.Restarts++
		}
		r.FailReason = reason
		if !r.EverRan {
			r.Wanted = false
		}
		evs := r.ended(e, StatusFailed, Event{Event: EventFailed, PID: r.PID, Detail: d}, db.now())
		if d.Check != "" {
			nr := Event{Event: EventNotReady, PID: r.PID, Detail: Detail{Check: d.Check, Error: d.Error, Ended: d.Ended}}
			evs = append([]Event{nr}, evs...)
		}
		return evs
	})
}

// Ended records that the process of the start marker ended on its own
// after its start: exited with a code, or killed by a signal, or
// restarting or errored under its guard. d says more (how long it ran).
func (db *DB) Ended(name, marker string, e Exit, d Detail) (Record, error) {
	return db.change(name, Cond{Marker: marker, Status: []Status{StatusRunning}}, func(r *Record) []Event {
		status := StatusExited
		if e.Signal != "" {
			status = StatusKilled
		}
		ed := e.Detail()
		d.Code, d.Signal, d.StatusUnknown = ed.Code, ed.Signal, ed.StatusUnknown
		return r.ended(e, status, Event{Event: EventExit, PID: r.PID, Detail: d}, db.now())
	})
}

// ended applies an end to r: its exit, then status, or under its guard
// restarting after the backoff's next delay, or errored once the guard
// gives up. It returns ev and the guard's events.
func (r *Record) ended(e Exit, status Status, ev Event, now time.Time) []Event {
	if e.At.IsZero() {
		e.At = now
	}
	r.ExitCode, r.ExitSignal, r.ExitedAt = e.Code, e.Signal, e.At
	if !e.Known {
		r.ExitCode, r.ExitSignal = -1, ""
	}
	r.Status, r.Backoff, r.GaveUp = status, 0, false
	evs := []Event{ev}
	if !r.Guard {
		return evs
	}
	ranFor := time.Duration(0)
	if !r.StartedAt.IsZero() && e.At.After(r.StartedAt) {
		ranFor = e.At.Sub(r.StartedAt)
	}
	delay, giveUp, crashes := Guard{Limit: r.MaxRestarts}.Next(r.Crashes, ranFor)
	r.Crashes = crashes
	if giveUp {
		r.Status, r.GaveUp = StatusErrored, true
		return append(evs, Event{Event: EventGuardGaveUp, PID: r.PID, Detail: Detail{Restarts: r.Restarts}})
	}
	r.Status, r.Backoff = StatusRestarting, delay
	return append(evs, Event{Event: EventBackoff, PID: r.PID, Detail: Detail{Delay: delay.String()}})
}

// Adopted finishes the start marker, interrupted by the death of the
// supervisor that made it, whose process was found running by its marker
// but whose leader is not known: fn sets what is known of it. A start that
// replaced a process, interrupted before it began its own, goes back to
// that process, which runs on: ev is then "", and no event is written.
func (db *DB) Adopted(name, marker string, fn func(r *Record), ev EventKind, reason string) (Record, error) {
	return db.change(name, Cond{Marker: marker, Status: []Status{StatusStarting}}, func(r *Record) []Event {
		fn(r)
		r.Status, r.Backoff, r.EverRan, r.FailReason, r.KillBy = StatusRunning, 0, true, "", time.Time{}
		if ev == "" {
			return nil
		}
		return []Event{{Event: ev, PID: r.PID, Detail: Detail{Command: r.Command, Reason: reason}}}
	})
}

// Replacing marks the record named name starting, keeping its marker and
// process, while the start that replaces that process (by sup, the
// supervisor that makes it) ends it, SIGKILL due at killBy: the end of the
// old leader is then no end of the record (Ended finds it starting), a
// start of the old marker still in its window fails its transitions
// (another start replaced it), and a supervisor killed meanwhile leaves a
// replace that the next one undoes: the old process runs on, or the start
// failed.
func (db *DB) Replacing(name, marker string, sup Ident, killBy time.Time) (Record, error) {
	return db.change(name, Cond{Marker: marker}, func(r *Record) []Event {
		r.Status, r.Backoff, r.KillBy = StatusStarting, 0, killBy
		r.SupervisorPID, r.SupervisorTicks = sup.PID, sup.Ticks
		return nil
	})
}

// Ident names a process for good: its pid and its kernel start time.
type Ident struct {
	PID   int
	Ticks uint64
}

// Stop marks the record named name stopped on purpose, whatever it was
// doing, and no longer wanted: no supervisor restarts it, and a start going
// on is ended (its next transition finds ErrChanged). timeout gives the
// stop's wait after SIGTERM for the record: what still runs of it then gets
// SIGKILL (KillBy), by the caller, or should it die before, by the
// supervisor. It returns the record as it was, whose processes the caller
// then ends; StopDone records how.
func (db *DB) Stop(name string, timeout func(Record) time.Duration) (before Record, err error) {
	_, err = db.change(name, Cond{}, func(r *Record) []Event {
		before = *r
		r.Status, r.Backoff, r.Wanted, r.FailReason = StatusStopped, 0, false, ""
		r.KillBy = db.now().Add(timeout(*r))
		return nil
	})
	return before, err
}

// StopDone records how the stop of the start marker ended (e, when
// something ran: its exit fields) with the stop event, while the record is
// still stopped with that marker.
func (db *DB) StopDone(name, marker string, e *Exit, d Detail) error {
	_, err := db.change(name, Cond{Marker: marker, Status: []Status{StatusStopped}}, func(r *Record) []Event {
		pid := r.PID
		if e != nil {
			r.ExitCode, r.ExitSignal, r.ExitedAt = e.Code, e.Signal, e.At
		}
		return []Event{{Event: EventStop, PID: pid, Detail: d}}
	})
	if errors.Is(err, ErrChanged) {
		return nil // started again meanwhile: that start has its own history
	}
	return err
}

// SetGuard turns the guard of the record named name on or off. Turned on,
// a record that failed, ended or whose guard gave up is restarting at once
// (its guard tries again); turned off, a record waiting for its guard's
// next try ends its wait as it last ended. changed is false when the
// guard was already so.
func (db *DB) SetGuard(name string, on bool) (r Record, changed bool, err error) {
	r, err = db.change(name, Cond{}, func(r *Record) []Event {
		changed = r.Guard != on
		r.Guard = on
		switch {
		case on && (r.Status == StatusErrored || r.Status == StatusFailed || r.Status.Ended()):
			// As a start by hand: the guard's counts begin anew.
			r.Status, r.Backoff, r.GaveUp, r.Crashes, r.Restarts, r.ExitedAt = StatusRestarting, 0, false, 0, 0, db.now()
		case !on && (r.Status == StatusRestarting || r.Status == StatusErrored):
			r.Status, r.Backoff, r.GaveUp = StatusExited, 0, false
			if r.ExitSignal != "" {
				r.Status = StatusKilled
			}
		}
		if !changed {
			return nil
		}
		ev := EventGuardOff
		if on {
			ev = EventGuardOn
		}
		return []Event{{Event: ev, PID: r.PID}}
	})
	return r, changed, err
}

// StackEpoch returns how many times `bgrun down` began for the stack file
// path: an up that started at one epoch starts nothing once it changed, so
// a down that comes while an up runs wins.
func (db *DB) StackEpoch(path string) (int64, error) {
	var e int64
	err := db.inTx(func(tx *sql.Tx) error {
		var err error
		e, err = stackEpoch(tx, path)
		return err
	})
	return e, cleanErr(err)
}

// BumpStack begins a `bgrun down` of the stack file path: every start of
// an up that began before it is refused from now on.
func (db *DB) BumpStack(path string) error {
	_, err := db.sql.Exec(`INSERT INTO stack (path, epoch) VALUES (?, 1)
		ON CONFLICT(path) DO UPDATE SET epoch = epoch + 1`, path)
	return cleanErr(err)
}

func stackEpoch(tx *sql.Tx, path string) (int64, error) {
	var e int64
	err := tx.QueryRow("SELECT epoch FROM stack WHERE path = ?", path).Scan(&e)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return e, err
}

// decodeDetail reads a stored detail; one that cannot be read is kept raw.
func decodeDetail(s string) Detail {
	var d Detail
	if s == "" || s == "{}" {
		return d
	}
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return Detail{Raw: strings.TrimSpace(s)}
	}
	return d
}
