//go:build !linux

package stop

import "time"

// waitExits waits until every process in members has exited, or d has
// passed: this platform has no pidfds, so it looks with short sleeps.
func waitExits(members map[int]uint64, d time.Duration) { backoffWait(members, d) }
