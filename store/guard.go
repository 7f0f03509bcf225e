package store

import "time"

// Defaults of the guard's schedule. DefaultMinDelay keeps the promise that a
// crashed process is back within a second; DefaultMaxDelay bounds how long
// one that keeps crashing waits, so it still comes back soon after its cause
// is fixed; DefaultStable is how long a run must last to count as healthy
// again; DefaultFreeRestarts is how many quick crashes in a row restart
// after the minimum delay before it starts doubling, so a process that dies
// once or twice for a passing reason (a port still held, a file half
// written) comes back at once.
const (
	DefaultMinDelay     = 100 * time.Millisecond
	DefaultMaxDelay     = 30 * time.Second
	DefaultStable       = 10 * time.Second
	DefaultFreeRestarts = 3
)

// Guard is the crash guard's schedule: the delay before it restarts a
// guarded process that ended. The first FreeRestarts quick crashes in a row
// restart after Min; each quick crash after those doubles the delay, up to
// Max. A crash after a run of at least Stable starts the count again, so
// one crash of a long-lived process always restarts at once. With Limit >
// 0, the crash after Limit restarts in a row gives up; reaching Max does
// not reset that count, or a process that crashes forever would be
// restarted forever.
//
// Zero fields take the defaults above (Limit 0 never gives up). A Guard is
// a pure function of the crash count it is given, which the record keeps
// (Record.Crashes), so the schedule survives a supervisor's restart.
type Guard struct {
	Min, Max, Stable time.Duration
	FreeRestarts     int
	Limit            int
}

// maxCrashes caps the crash count so that it cannot overflow however long
// a process keeps crashing with no Limit; it is far beyond where the delay
// reaches Max.
const maxCrashes = 1 << 30

// Next takes a crash of a process that ran for ranFor after crashes quick
// crashes in a row, and returns how long to wait before the next try, or
// giveUp when Limit restarts in a row have been spent, and the new count.
func (g Guard) Next(crashes int, ranFor time.Duration) (delay time.Duration, giveUp bool, count int) {
	lo, hi, stable, free := g.bounds()
	if ranFor >= stable {
		crashes = 0
	}
	count = min(crashes+1, maxCrashes)
	if g.Limit > 0 && count > g.Limit {
		return 0, true, count
	}
	delay = lo
	for n := count - free; n > 0 && delay < hi; n-- {
		if delay > hi/2 {
			delay = hi
			break
		}
		delay *= 2
	}
	return delay, false, count
}

// bounds returns the schedule with the defaults applied. A Max below Min is
// raised to Min, since a cap below the floor has no sensible reading.
func (g Guard) bounds() (lo, hi, stable time.Duration, free int) {
	lo, hi, stable, free = g.Min, g.Max, g.Stable, g.FreeRestarts
	if lo <= 0 {
		lo = DefaultMinDelay
	}
	if hi <= 0 {
		hi = DefaultMaxDelay
	}
	if stable <= 0 {
		stable = DefaultStable
	}
	if free == 0 {
		free = DefaultFreeRestarts
	}
	return lo, max(hi, lo), stable, max(free, 0)
}
