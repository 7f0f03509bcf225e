package run

import (
	"errors"
	"fmt"
	"io"
	"time"

	"bgrun/logs"
	"bgrun/store"
)

// Duties are the per-record settings of the supervisor's duties that a
// start sets: log rotation, the readiness check, health checks and the
// memory limit. A zero field is "not given": an explicit start (with a
// command) then stores the default, a restart keeps what is stored.
type Duties struct {
	// LogMaxSize is the size in bytes past which the logs are rotated;
	// negative turns rotation off. LogKeep is how many rotated copies to
	// keep.
	LogMaxSize int64
	LogKeep    int
	// Ready is the readiness check (see ParseReady), ReadyTimeout how long a
	// start waits for it, HealthInterval how often the supervisor repeats it
	// for a guarded record.
	Ready          string
	ReadyTimeout   time.Duration
	HealthInterval time.Duration
	// MaxMemory is the RSS in bytes of the tree past which the supervisor
	// restarts the process; negative removes the limit.
	MaxMemory int64
}

// apply writes d over rec: all of it for an explicit start, what is given
// for a restart.
func (d Duties) apply(rec *store.Record, explicit bool) error {
	if d.Ready != "" {
		if _, err := ParseReady(d.Ready); err != nil {
			return err
		}
	}
	if d.LogKeep < 0 || d.ReadyTimeout < 0 || d.HealthInterval < 0 {
		return fmt.Errorf("negative duty setting: %+v", d)
	}
	if d.LogKeep > store.MaxLogKeep {
		return store.Errorf(store.KindBadInput, "--log-keep %d: at most %d rotated copies", d.LogKeep, store.MaxLogKeep)
	}
	if explicit {
		rec.LogMaxSize, rec.LogKeep, rec.Ready = 0, 0, ""
		rec.ReadyTimeout, rec.HealthInterval, rec.MaxMemory = 0, 0, 0
	}
	if d.LogMaxSize != 0 {
		rec.LogMaxSize = d.LogMaxSize
	}
	if d.LogKeep != 0 {
		rec.LogKeep = d.LogKeep
	}
	if d.Ready != "" {
		rec.Ready = d.Ready
	}
	if d.ReadyTimeout != 0 {
		rec.ReadyTimeout = d.ReadyTimeout
	}
	if d.HealthInterval != 0 {
		rec.HealthInterval = d.HealthInterval
	}
	switch {
	case d.MaxMemory < 0:
		rec.MaxMemory = 0
	case d.MaxMemory > 0:
		rec.MaxMemory = d.MaxMemory
	}
	return nil
}

// RotateLogs rotates the log files of recs that are past their cap (see
// logs.Rotate and store.Record.LogLimits). Every bgrun command that touches
// a record calls it, and so does the supervisor, so that a log is kept under
// its cap whether or not a supervisor runs. It returns the errors joined;
// a failed rotation is never a reason for the command itself to fail.
func RotateLogs(recs ...store.Record) error {
	var errs []error
	for _, r := range recs {
		maxSize, keep := r.LogLimits()
		if maxSize <= 0 {
			continue
		}
		for i, p := range []string{r.StdoutPath, r.StderrPath} {
			if p == "" || (i == 1 && p == r.StdoutPath) {
				continue
			}
			if _, err := logs.Rotate(p, maxSize, keep); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// RotateNamed rotates the logs of the named records (of every record with no
// name) that are past their size, warning on warn of a failure: every
// command that touches a record does, so logs stay capped even while no
// supervisor runs.
func RotateNamed(db *store.DB, warn io.Writer, names ...string) {
	var recs []store.Record
	if len(names) == 0 {
		recs, _ = db.List()
	}
	for _, n := range names {
		if r, err := db.Get(n); err == nil {
			recs = append(recs, r)
		}
	}
	RotateWarn(warn, recs...)
}

// RotateWarn rotates the logs of recs that are past their size, warning on
// warn of a failure.
func RotateWarn(warn io.Writer, recs ...store.Record) {
	if err := RotateLogs(recs...); err != nil {
		fmt.Fprintf(warn, "bgrun: warning: rotate logs: %v\n", err)
	}
}
