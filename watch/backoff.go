package watch

import "time"

// Defaults for the zero fields of a Backoff. DefaultMinDelay keeps the promise that a
// crashed child is back within a second; DefaultMaxDelay bounds how long a child that
// keeps crashing waits, so it still comes back soon after its cause is fixed;
// DefaultStable is how long a run must last to count as healthy again.
const (
	DefaultMinDelay = 100 * time.Millisecond
	DefaultMaxDelay = 30 * time.Second
	DefaultStable   = 10 * time.Second
)

// DefaultFreeRestarts is how many quick crashes in a row NewBackoff restarts after the
// minimum delay before it starts doubling: a child that dies once or twice for a passing
// reason (a port still held, a file half written) comes back at once.
const DefaultFreeRestarts = 3

// Backoff computes the delay before the guard restarts a crashed child. The first
// FreeRestarts quick crashes in a row restart after Min; each quick crash after those
// doubles the delay, up to Max. A crash after a run of at least Stable starts the count
// again, so one crash of a long-lived child always restarts at once. If Limit > 0, the
// crash after Limit restarts in a row gives up; reaching Max does not reset that count,
// or a child that crashes forever would be restarted forever.
//
// Zero Min, Max and Stable take the defaults above; Limit 0 never gives up. Backoff is
// a pure function of the run times it is told, so it needs no clock, and it is not safe
// for concurrent use: the supervisor owns one per child.
type Backoff struct {
	Min, Max, Stable time.Duration
	FreeRestarts     int
	Limit            int

	consecutive int
	lastDelay   time.Duration
}

// NewBackoff returns the guard's usual schedule: 100 ms for the first three quick
// crashes, then 200 ms, 400 ms and so on up to 30 s, reset by a run of 10 s, no limit.
func NewBackoff() *Backoff {
	return &Backoff{FreeRestarts: DefaultFreeRestarts}
}

// Next records a crash of a child that ran for ranFor and returns how long to wait
// before restarting it, or giveUp when Limit restarts in a row have already been spent.
// After giving up it keeps reporting giveUp until a stable run or Reset.
func (b *Backoff) Next(ranFor time.Duration) (delay time.Duration, giveUp bool) {
	lo, hi, stable := b.bounds()
	if ranFor >= stable {
		b.consecutive = 0
	}
	if b.consecutive < maxCount {
		b.consecutive++
	}
	if b.Limit > 0 && b.consecutive > b.Limit {
		b.lastDelay = 0
		return 0, true
	}
	delay = lo
	for n := b.consecutive - max(b.FreeRestarts, 0); n > 0 && delay < hi; n-- {
		if delay > hi/2 {
			delay = hi
			break
		}
		delay *= 2
	}
	b.lastDelay = delay
	return delay, false
}

// maxCount caps the crash count so that it cannot overflow however long a child keeps
// crashing with no Limit; it is far beyond where the delay reaches Max.
const maxCount = 1 << 30

// bounds returns Min, Max and Stable with the defaults applied. A Max below Min is raised
// to Min, since a cap below the floor has no sensible reading.
func (b *Backoff) bounds() (lo, hi, stable time.Duration) {
	lo, hi, stable = b.Min, b.Max, b.Stable
	if lo <= 0 {
		lo = DefaultMinDelay
	}
	if hi <= 0 {
		hi = DefaultMaxDelay
	}
	if stable <= 0 {
		stable = DefaultStable
	}
	return lo, max(hi, lo), stable
}

// Reset forgets the crashes counted so far, as when the user restarts the child by hand.
func (b *Backoff) Reset() {
	b.consecutive = 0
	b.lastDelay = 0
}

// State returns the number of quick crashes in a row and the last delay chosen, for the
// listing and the history, so a user can see that a child is crash-looping.
func (b *Backoff) State() (consecutive int, lastDelay time.Duration) {
	return b.consecutive, b.lastDelay
}
