//go:build !linux

package run

// start polls for the leader's end.
func (l *Leader) start() { go l.poll() }
