package store

import "time"

// Defaults of the settings of the supervisor's duties, used where a record
// stores 0: logs rotated past 10 MB with 3 copies kept, a start waiting up
// to 30 s for its readiness check, a guarded record's check repeated every
// 10 s.
const (
	DefaultLogMaxSize     = 10 << 20
	DefaultLogKeep        = 3
	DefaultReadyTimeout   = 30 * time.Second
	DefaultHealthInterval = 10 * time.Second
)

// MaxLogKeep bounds --log-keep: each rotation renames every copy, and a
// start looks at each name.
const MaxLogKeep = 1000

// LogLimits returns the size past which r's logs are rotated (0: never) and
// how many rotated copies are kept.
func (r Record) LogLimits() (maxSize int64, keep int) {
	maxSize, keep = r.LogMaxSize, r.LogKeep
	switch {
	case maxSize == 0:
		maxSize = DefaultLogMaxSize
	case maxSize < 0:
		maxSize = 0
	}
	if keep <= 0 {
		keep = DefaultLogKeep
	}
	return maxSize, keep
}

// Window returns r's startup window: the one its last start was given, or
// def when that is not known (a record an older bgrun wrote).
func (r Record) Window(def time.Duration) time.Duration {
	switch {
	case r.StartWindow > 0:
		return r.StartWindow
	case r.StartWindow < 0:
		return 0
	}
	return def
}

// ReadyWait returns how long a start of r waits for its readiness check.
func (r Record) ReadyWait() time.Duration {
	if r.ReadyTimeout <= 0 {
		return DefaultReadyTimeout
	}
	return r.ReadyTimeout
}

// HealthEvery returns how often the supervisor repeats r's readiness check
// while r is guarded.
func (r Record) HealthEvery() time.Duration {
	if r.HealthInterval <= 0 {
		return DefaultHealthInterval
	}
	return r.HealthInterval
}
