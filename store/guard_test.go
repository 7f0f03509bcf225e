package store

import (
	"math"
	"testing"
	"time"
)

const ms = time.Millisecond

// step is one crash fed to a Guard and what it must answer.
type step struct {
	ranFor    time.Duration
	delay     time.Duration
	giveUp    bool
	wantCount int
}

// runSteps feeds the crashes to g in order, carrying the count as a record
// does, and checks each answer.
func runSteps(t *testing.T, g Guard, steps []step) {
	t.Helper()
	n := 0
	for i, s := range steps {
		delay, giveUp, count := g.Next(n, s.ranFor)
		if delay != s.delay || giveUp != s.giveUp || count != s.wantCount {
			t.Errorf("crash %d (ran %v): Next = %v, %v, %d; want %v, %v, %d", i+1, s.ranFor, delay, giveUp, count,
				s.delay, s.giveUp, s.wantCount)
		}
		n = count
	}
}

func TestGuardScheduleWithCap(t *testing.T) {
	quick := 50 * ms
	runSteps(t, Guard{Min: 100 * ms, Max: 2 * time.Second, Stable: 10 * time.Second, FreeRestarts: 3}, []step{
		{quick, 100 * ms, false, 1},
		{quick, 100 * ms, false, 2},
		{quick, 100 * ms, false, 3},
		{quick, 200 * ms, false, 4},
		{quick, 400 * ms, false, 5},
		{quick, 800 * ms, false, 6},
		{quick, 1600 * ms, false, 7},
		{quick, 2000 * ms, false, 8}, // capped
		{quick, 2000 * ms, false, 9},
		{9 * time.Second, 2000 * ms, false, 10}, // just short of stable: still a quick crash
	})
}

func TestGuardDefaults(t *testing.T) {
	want := []time.Duration{
		100 * ms, 100 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms,
		6400 * ms, 12800 * ms, 25600 * ms, 30 * time.Second, 30 * time.Second,
	}
	n := 0
	for i, w := range want {
		d, giveUp, count := Guard{}.Next(n, 0)
		if d != w || giveUp {
			t.Errorf("crash %d: Next = %v, %v; want %v, false", i+1, d, giveUp, w)
		}
		n = count
	}
}

func TestGuardStableRunResets(t *testing.T) {
	runSteps(t, Guard{Min: 100 * ms, Max: 30 * time.Second, Stable: 10 * time.Second, FreeRestarts: 1}, []step{
		{ms, 100 * ms, false, 1},
		{ms, 200 * ms, false, 2},
		{ms, 400 * ms, false, 3},
		{10 * time.Second, 100 * ms, false, 1}, // ran Stable: this crash starts a new count
		{ms, 200 * ms, false, 2},
		{time.Hour, 100 * ms, false, 1},
	})
}

func TestGuardLimit(t *testing.T) {
	runSteps(t, Guard{Min: 100 * ms, Max: 400 * ms, FreeRestarts: 1, Limit: 5}, []step{
		{0, 100 * ms, false, 1},
		{0, 200 * ms, false, 2},
		{0, 400 * ms, false, 3},
		{0, 400 * ms, false, 4}, // at the cap, still counting toward the limit
		{0, 400 * ms, false, 5},
		{0, 0, true, 6}, // five restarts in a row spent
		{0, 0, true, 7}, // and it stays given up
		{time.Minute, 100 * ms, false, 1},
	})
}

func TestGuardOddSettings(t *testing.T) {
	tests := []struct {
		name string
		g    Guard
		ran  time.Duration
		want time.Duration
	}{
		{"negative run time", Guard{FreeRestarts: 1}, -time.Second, DefaultMinDelay},
		{"max below min", Guard{Min: time.Second, Max: ms, FreeRestarts: 1}, 0, time.Second},
		{"negative free restarts", Guard{FreeRestarts: -5}, 0, 2 * DefaultMinDelay},
		{"huge min does not overflow", Guard{Min: math.MaxInt64 / 3, Max: math.MaxInt64, FreeRestarts: -1}, 0, math.MaxInt64 / 3 * 2},
	}
	for _, tt := range tests {
		if d, _, _ := tt.g.Next(0, tt.ran); d != tt.want {
			t.Errorf("%s: delay %v, want %v", tt.name, d, tt.want)
		}
	}
	g, n := Guard{Min: math.MaxInt64 / 3, Max: math.MaxInt64, FreeRestarts: -1}, 0
	for range 100 {
		d, _, c := g.Next(n, 0)
		if d <= 0 {
			t.Fatalf("delay %v after doubling a huge Min: overflowed", d)
		}
		n = c
	}
}
