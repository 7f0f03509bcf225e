package store

// Status is what a record's status column says. Whether a running record
// still runs is decided by the ps package from the OS, never from this
// column alone; ps also reports "exited" and "unknown", which are never
// stored. The strings are part of `bgrun --json` and the dashboard.
type Status string

// The statuses a record can have.
const (
	StatusRunning Status = "running" // started and not known to have ended
	StatusStopped Status = "stopped" // stopped on purpose
	StatusFailed  Status = "failed"  // ended during its startup window
	// StatusStarting marks a record being started: written, with its
	// instance marker, before the process is spawned.
	StatusStarting Status = "starting"
	// StatusRestarting marks a guarded record that ended and waits for its
	// next try: ExitedAt plus Backoff.
	StatusRestarting Status = "restarting"
	// StatusErrored marks a guarded record whose guard gave up after
	// MaxRestarts restarts in a row.
	StatusErrored Status = "errored"
)

// EventKind is the kind of a history event. The strings are stored and
// printed as they are (`bgrun history --json`, the dashboard's
// /api/history).
type EventKind string

// The kinds of history event that bgrun writes.
const (
	// EventStart: a start (run, the supervisor's first try, or an
	// interrupted start found running by its marker); its detail holds the
	// log sizes where the run begins (run.StartDetail).
	EventStart EventKind = "start"
	// EventRestart: a start of a record that existed, by the user, a change
	// of watched files or a duty of the supervisor.
	EventRestart EventKind = "restart"
	// EventGuardRestart: the guard started a record again after it ended.
	EventGuardRestart EventKind = "guard_restart"
	// EventFailed: a start that ended during its startup window, or that
	// was interrupted with no process left.
	EventFailed EventKind = "failed"
	// EventExit: a supervised process ended on its own after starting.
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
