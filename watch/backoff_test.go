package watch

import (
	"math"
	"testing"
	"time"
)

// ms shortens the schedules in the tables.
const ms = time.Millisecond

// step is one crash fed to a Backoff and what it must answer.
type step struct {
	ranFor    time.Duration
	delay     time.Duration
	giveUp    bool
	wantCount int
}

// runSteps feeds the crashes to b in order and checks each answer and the state after it.
func runSteps(t *testing.T, b *Backoff, steps []step) {
	t.Helper()
	for i, s := range steps {
		delay, giveUp := b.Next(s.ranFor)
		if delay != s.delay || giveUp != s.giveUp {
			t.Errorf("crash %d (ran %v): Next = %v, %v; want %v, %v", i+1, s.ranFor, delay, giveUp, s.delay, s.giveUp)
		}
		n, last := b.State()
		if n != s.wantCount || last != delay {
			t.Errorf("crash %d: State = %d, %v; want %d, %v", i+1, n, last, s.wantCount, delay)
		}
	}
}

func TestBackoffScheduleWithCap(t *testing.T) {
	b := &Backoff{Min: 100 * ms, Max: 2 * time.Second, Stable: 10 * time.Second, FreeRestarts: 3}
	quick := 50 * ms
	runSteps(t, b, []step{
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

func TestBackoffDefaults(t *testing.T) {
	b := NewBackoff()
	want := []time.Duration{
		100 * ms, 100 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms,
		6400 * ms, 12800 * ms, 25600 * ms, 30 * time.Second, 30 * time.Second,
	}
	for i, w := range want {
		if d, giveUp := b.Next(0); d != w || giveUp {
			t.Errorf("crash %d: Next = %v, %v; want %v, false", i+1, d, giveUp, w)
		}
	}
	// The zero Backoff has no free restarts: it doubles from the first crash.
	var z Backoff
	for i, w := range []time.Duration{200 * ms, 400 * ms, 800 * ms} {
		if d, _ := z.Next(0); d != w {
			t.Errorf("zero Backoff crash %d: delay %v, want %v", i+1, d, w)
		}
	}
}

func TestBackoffStableRunResets(t *testing.T) {
	b := &Backoff{Min: 100 * ms, Max: 30 * time.Second, Stable: 10 * time.Second, FreeRestarts: 1}
	runSteps(t, b, []step{
		{ms, 100 * ms, false, 1},
		{ms, 200 * ms, false, 2},
		{ms, 400 * ms, false, 3},
		{10 * time.Second, 100 * ms, false, 1}, // ran Stable: this crash starts a new count
		{ms, 200 * ms, false, 2},
		{time.Hour, 100 * ms, false, 1},
	})
}

func TestBackoffLimit(t *testing.T) {
	b := &Backoff{Min: 100 * ms, Max: 400 * ms, FreeRestarts: 1, Limit: 5}
	runSteps(t, b, []step{
		{0, 100 * ms, false, 1},
		{0, 200 * ms, false, 2},
		{0, 400 * ms, false, 3},
		{0, 400 * ms, false, 4}, // at the cap, still counting toward the limit
		{0, 400 * ms, false, 5},
		{0, 0, true, 6}, // five restarts in a row spent
		{0, 0, true, 7}, // and it stays given up
		{time.Minute, 100 * ms, false, 1},
	})
	b.Next(0)
	b.Reset()
	if n, last := b.State(); n != 0 || last != 0 {
		t.Errorf("after Reset: State = %d, %v; want 0, 0", n, last)
	}
	if d, giveUp := b.Next(0); d != 100*ms || giveUp {
		t.Errorf("after Reset: Next = %v, %v; want 100ms, false", d, giveUp)
	}
}

func TestBackoffOddSettings(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
		ran  time.Duration
		want time.Duration
	}{
		{"negative run time", Backoff{FreeRestarts: 1}, -time.Second, DefaultMinDelay},
		{"max below min", Backoff{Min: time.Second, Max: ms, FreeRestarts: 1}, 0, time.Second},
		{"negative free restarts", Backoff{FreeRestarts: -5}, 0, 2 * DefaultMinDelay},
		{"huge min does not overflow", Backoff{Min: math.MaxInt64 / 3, Max: math.MaxInt64}, 0, math.MaxInt64 / 3 * 2},
	}
	for _, tt := range tests {
		if d, _ := tt.b.Next(tt.ran); d != tt.want {
			t.Errorf("%s: delay %v, want %v", tt.name, d, tt.want)
		}
	}
	b := Backoff{Min: math.MaxInt64 / 3, Max: math.MaxInt64}
	for range 100 {
		if d, _ := b.Next(0); d <= 0 {
			t.Fatalf("delay %v after doubling a huge Min: overflowed", d)
		}
	}
}
