// Package ps implements `bgrun` (the list), `bgrun NAME` (details) and
// `bgrun ps`: which managed processes run, their process trees, ports,
// memory and CPU.
package ps

import (
	"context"
	"fmt"
	"slices"
	"time"

	"bgrun/store"
)

// Process is a record as the user sees it. Its JSON form is bgrun's stable
// interface for pipelines (`bgrun ps --json | jq`) and the dashboard; fields
// are only ever added.
type Process struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// PID is the leader bgrun started; 0 when it does not run.
	PID int `json:"pid"`
	// Status is starting, running, restarting (the guard waits for its next
	// try, NextRestartAt), errored (the guard gave up), exited (ended on its
	// own, see LastExit), failed (ended during startup), stopped (stopped on
	// purpose) or unknown (its state could not be read). StatusDetail says
	// more in words: "exited 1", "killed: SIGKILL", "next try in 2s".
	Status       store.Status `json:"status"`
	StatusDetail string       `json:"status_detail"`
	Running      bool         `json:"running"`
	// PIDs are every live process of the tree, leader included.
	PIDs  []int `json:"pids"`
	Ports []int `json:"ports"`
	// Memory is the resident memory of the whole tree, in bytes.
	Memory int64 `json:"memory"`
	// CPU is the tree's average CPU use since it started, in percent of one
	// core; the dashboard shows the recent rate instead.
	CPU        float64   `json:"cpu"`
	CPUTicks   uint64    `json:"-"`
	Command    string    `json:"command"`
	Directory  string    `json:"directory"`
	Group      string    `json:"group"`
	Parent     string    `json:"parent"`
	StartedAt  time.Time `json:"started_at"`
	Uptime     int64     `json:"uptime_seconds"`
	StdoutPath string    `json:"stdout_path"`
	StderrPath string    `json:"stderr_path"`
	ConfigPath string    `json:"config_path"`
	Guarded    bool      `json:"guarded"`
	Watched    bool      `json:"watched"`
	Supervised bool      `json:"supervised"`
	// SupervisorPID is the pid of the supervisor, 0 when none runs.
	SupervisorPID int    `json:"supervisor_pid"`
	Restarts      int    `json:"restarts"`
	Backoff       string `json:"backoff"`
	GaveUp        bool   `json:"gave_up"`
	// NextRestartAt is when the guard tries again, while restarting.
	NextRestartAt *time.Time `json:"next_restart_at"`
	LastExit      *Exit      `json:"last_exit"`
	Docker        bool       `json:"docker"`

	// Wanted says the user wants it running (a start set it, no stop since):
	// what `bgrun resurrect` starts after a reboot.
	Wanted bool `json:"wanted"`
	// Leader says what pid is: "program" (a simple command run with exec),
	// "shell" (a compound command: /bin/sh -c leads it), or "" when not
	// known (started by an older bgrun).
	Leader string `json:"leader"`
	// Instance is the marker of the last start, BGR_INSTANCE in the
	// environment of each of its processes.
	Instance string `json:"instance"`
	// LogMaxSize is the size in bytes past which the logs are rotated (0:
	// never), LogKeep how many rotated copies are kept.
	LogMaxSize int64 `json:"log_max_size"`
	LogKeep    int   `json:"log_keep"`
	// Ready is the readiness check, "" for none; ReadyTimeoutMS how long a
	// start waits for it and HealthIntervalMS how often it is repeated
	// under the guard, in milliseconds.
	Ready            string `json:"ready"`
	ReadyTimeoutMS   int64  `json:"ready_timeout_ms"`
	HealthIntervalMS int64  `json:"health_interval_ms"`
	// MaxMemory is the RSS in bytes past which the supervisor restarts
	// the process, 0 for no limit.
	MaxMemory int64 `json:"max_memory"`
}

// Exit describes how a process last ended.
type Exit struct {
	Code   int       `json:"code"`
	Signal string    `json:"signal,omitempty"`
	At     time.Time `json:"at"`
	// Unknown is true when its status could not be collected: the
	// supervisor that saw it end was not its parent (Code is -1 then).
	Unknown bool `json:"status_unknown,omitempty"`
}

// String says how the process ended: "exited 1", "killed: SIGKILL" or
// "exit status unknown".
func (e *Exit) String() string {
	switch {
	case e.Unknown:
		return "exit status unknown"
	case e.Signal != "":
		return "killed: " + e.Signal
	}
	return fmt.Sprintf("exited %d", e.Code)
}

// Options select what List shows.
type Options struct {
	Group string // only this BGR_GROUP; "" for all
	Now   func() time.Time
	// Loaded, when set, is given the records as List read them, while
	// they are inspected (List returns once it is done): the CLI rotates
	// their logs there, so that a list reads the store once.
	Loaded func([]store.Record)
}

// List returns every record with its live state, read from the OS with one
// process snapshot for all records. The snapshot (with the markers of the
// processes that may carry one) is read while the store is, and read again
// if a record changed after it began: a record never names a process the
// snapshot is too old to hold.
func List(ctx context.Context, db *store.DB, opt Options) ([]Process, error) {
	type snap struct {
		t   Table
		at  time.Time
		err error
	}
	early := make(chan snap, 1)
	go func() {
		at := time.Now()
		t, err := Snapshot()
		if err == nil {
			t.markedIndex()
		}
		early <- snap{t, at, err}
	}()
	recs, err := db.List()
	if err != nil {
		return nil, err
	}
	if opt.Group != "" {
		kept := recs[:0]
		for _, r := range recs {
			if r.Group == opt.Group {
				kept = append(kept, r)
			}
		}
		recs = kept
	}
	loaded := make(chan struct{})
	if opt.Loaded != nil {
		go func(recs []store.Record) {
			defer close(loaded)
			opt.Loaded(recs)
		}(slices.Clone(recs))
	} else {
		close(loaded)
	}
	defer func() { <-loaded }()
	s := <-early
	t, err := s.t, s.err
	for _, r := range recs {
		if !r.UpdatedAt.Before(s.at) {
			t, err = Snapshot()
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return inspect(ctx, recs, opt, t), nil
}

// Get returns one record with its live state.
func Get(ctx context.Context, db *store.DB, name string) (Process, error) {
	r, err := db.Get(name)
	if err != nil {
		return Process{}, err
	}
	t, err := Snapshot()
	if err != nil {
		return Process{}, err
	}
	return inspect(ctx, []store.Record{r}, Options{}, t)[0], nil
}

// Inspect joins records with what the OS says of them.
func Inspect(ctx context.Context, recs []store.Record, opt Options) ([]Process, error) {
	if len(recs) == 0 {
		return []Process{}, nil
	}
	var t Table
	for look := 1; ; look++ {
		var err error
		if t, err = Snapshot(); err != nil {
			return nil, err
		}
		if look == sureLooks || t.sure(recs) {
			return inspect(ctx, recs, opt, t), nil
		}
	}
}

// sure reports whether t answers surely for recs: each runs in it, or its
// marker scan met no process whose marker was unknown (see Unsure).
func (t Table) sure(recs []store.Record) bool {
	missing := false
	for _, r := range recs {
		missing = missing || (r.Instance != "" && len(t.MembersOf(OwnerOf(r), true)) == 0)
	}
	return !missing || !t.Unsure()
}

// inspect joins records with t.
func inspect(ctx context.Context, recs []store.Record, opt Options, t Table) []Process {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	out := make([]Process, len(recs))
	if len(recs) == 0 {
		return out
	}
	// One marker scan serves every record; it is needed only when some
	// record was started with a marker.
	scan := false
	for _, r := range recs {
		scan = scan || r.Instance != ""
	}
	for i, r := range recs {
		p := fromRecord(r)
		p.Supervised = t.Alive(r.SupervisorPID, r.SupervisorTicks) && Supervised(r)
		if p.Supervised {
			p.SupervisorPID = r.SupervisorPID
		}
		p.PIDs = t.MembersOf(OwnerOf(r), scan)
		p.Running = len(p.PIDs) > 0
		if p.Running {
			if p.PID == 0 {
				p.PID = p.PIDs[0] // found by its marker; the leader is not known
			}
			p.Status = runningStatus(r, t)
			p.Memory = t.RSS(p.PIDs)
			p.CPUTicks = t.CPUTicks(p.PIDs)
			p.Uptime = int64(now().Sub(r.StartedAt).Seconds())
			if p.Uptime > 0 {
				p.CPU = float64(p.CPUTicks) / ClockTicks / float64(p.Uptime) * 100
			}
		} else {
			p.PID = 0
			setEnded(&p, r, now())
		}
		out[i] = p
	}
	addPorts(ctx, out)
	addDocker(ctx, out, recs)
	return out
}

func fromRecord(r store.Record) Process {
	p := Process{
		ID: r.ID, Name: r.Name, PID: r.PID, Status: r.Status, Command: r.Command, Directory: r.Dir,
		Group: r.Group, Parent: r.Parent, StartedAt: r.StartedAt, StdoutPath: r.StdoutPath,
		StderrPath: r.StderrPath, ConfigPath: r.ConfigPath, Guarded: r.Guard, Watched: r.Watch,
		Restarts: r.Restarts, GaveUp: r.GaveUp, PIDs: []int{}, Ports: []int{},
		Leader: r.Leader, Instance: r.Instance,
	}
	p.Wanted = r.Wanted
	if r.Backoff > 0 {
		p.Backoff = r.Backoff.String()
	}
	p.LogMaxSize, p.LogKeep = r.LogLimits()
	p.Ready, p.MaxMemory = r.Ready, r.MaxMemory
	p.ReadyTimeoutMS, p.HealthIntervalMS = r.ReadyWait().Milliseconds(), r.HealthEvery().Milliseconds()
	if !r.ExitedAt.IsZero() {
		p.LastExit = &Exit{Code: r.ExitCode, Signal: r.ExitSignal, At: r.ExitedAt,
			Unknown: r.ExitCode == -1 && r.ExitSignal == ""}
	}
	return p
}

// statusUnknown is the status of a process whose state could not be read
// (a docker record while the daemon does not answer).
const statusUnknown store.Status = "unknown"

// Supervised reports whether r is in its supervisor's hands: a start going
// on, a process it follows, a guard's wait, a watch.
func Supervised(r store.Record) bool {
	switch r.Status {
	case store.StatusStarting, store.StatusRunning, store.StatusRestarting:
		return true
	case store.StatusStopped:
		return false
	}
	return r.Watch
}

// runningStatus is the status of r while something of its tree runs: a
// start going on is still starting, a stop going on is stopping, a leader
// the kernel has stopped (SIGSTOP, Ctrl-Z) is paused, and anything else
// runs, whatever the record last said (an end under way).
func runningStatus(r store.Record, t Table) store.Status {
	switch r.Status {
	case store.StatusStarting:
		return store.StatusStarting
	case store.StatusStopped:
		return store.StatusStopping
	}
	if p, ok := t.Get(r.PID); ok && p.Alive(r.StartTicks) && (p.State == 'T' || p.State == 't') {
		return store.StatusPaused
	}
	return store.StatusRunning
}

// setEnded sets the status of a process that does not run from its record.
func setEnded(p *Process, r store.Record, now time.Time) {
	last := ""
	if p.LastExit != nil {
		last = p.LastExit.String()
	}
	switch r.Status {
	case store.StatusStarting:
		// A start going on, before its spawn; or one whose supervisor was
		// killed, until the next supervisor finishes it.
	case store.StatusRestarting:
		at := r.ExitedAt.Add(r.Backoff)
		p.NextRestartAt = &at
		p.StatusDetail = "next try in " + formatDuration(int64(max(at.Sub(now), 0).Round(time.Second).Seconds()))
		if last != "" {
			p.StatusDetail += ", last " + last
		}
	case store.StatusErrored:
		p.StatusDetail = fmt.Sprintf("gave up after %d restarts", r.Restarts)
		if last != "" {
			p.StatusDetail += ", last " + last
		}
	case store.StatusFailed:
		p.StatusDetail = r.FailReason
		if p.StatusDetail == "" && last != "" {
			p.StatusDetail = last + " during startup"
		}
	case store.StatusStopped:
	case store.StatusExited, store.StatusKilled:
		p.StatusDetail = last
	default:
		// The record says it runs, but nothing does: it ended a moment
		// ago and its supervisor is recording how, or it ended while no
		// supervisor watched it.
		p.Status, p.StatusDetail = store.StatusExited, "exit status unknown"
	}
}
