package stop

import (
	"time"

	"bgrun/ps"
)

// backoffWait looks whether members have exited, first after 1 ms, then
// doubling up to pollEvery, until all have or d has passed: a quick exit is
// seen at once, a slow one costs few looks.
func backoffWait(members map[int]uint64, d time.Duration) {
	deadline := time.Now().Add(d)
	for step := time.Millisecond; ; step = min(2*step, pollEvery) {
		left := false
		for pid, ticks := range members {
			if ps.Alive(pid, ticks) {
				left = true
				break
			}
		}
		if !left || time.Now().After(deadline) {
			return
		}
		time.Sleep(min(step, time.Until(deadline)))
	}
}
