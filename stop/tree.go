// Package stop implements `bgrun --stop`, `--delete`, `--clean`, `--nuke`,
// `--stop-all` and `--kill-port`: ending process trees that bgrun started,
// and nothing else.
package stop

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"bgrun/ps"
)

// defaultTimeout is how long a tree gets to end after SIGTERM before SIGKILL.
const defaultTimeout = 5 * time.Second

// pollEvery is how often a stop looks whether a process has ended where it
// cannot wait for the exit itself.
const pollEvery = 20 * time.Millisecond

// memberScan is how often a stop that waits for a tree's exits looks for new
// members of it (a shell that forked after the signal).
const memberScan = 100 * time.Millisecond

// TimeoutFromEnv returns BGR_STOP_TIMEOUT (a Go duration like "10s", or
// milliseconds), else defaultTimeout.
func TimeoutFromEnv() (time.Duration, error) {
	v := os.Getenv("BGR_STOP_TIMEOUT")
	if v == "" {
		return defaultTimeout, nil
	}
	if ms, err := strconv.Atoi(v); err == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("BGR_STOP_TIMEOUT=%q: want a duration such as 10s", v)
	}
	return d, nil
}

// TreeResult says how a tree ended.
type TreeResult struct {
	Signalled []int // pids that were sent SIGTERM
	Killed    []int // pids that needed SIGKILL
}

// TreeOf ends o's process tree, found by session, descent and marker (see
// ps.Table.MembersOf): every member gets SIGTERM, and whatever still runs
// after timeout gets SIGKILL. Members that appear meanwhile (a shell
// forking) are signalled too. It returns once every member is gone, or an
// error naming the survivors. Without o.Instance, the leader's own marker
// is used while the leader lives.
func TreeOf(o ps.Owner, timeout time.Duration) (TreeResult, error) {
	return treeOf(context.Background(), o, timeout, nil, nil)
}

// treeOf is TreeOf starting from the snapshot first, when the caller has
// just taken one, and taking the next ones from snaps; it gives up,
// returning ctx's error, when ctx ends. TreeOf never gives up: its callers
// clean up a process that must not run on.
func treeOf(ctx context.Context, o ps.Owner, timeout time.Duration, first *ps.Table, snaps *ps.Shared) (TreeResult, error) {
	var res TreeResult
	termed := map[int]uint64{}
	killed := map[int]bool{}
	start := time.Now()
	since := start // each look must be newer than the last wait
	var prev ps.Table
	for {
		var t ps.Table
		var err error
		if first != nil {
			t, first = *first, nil
		} else if t, err = snaps.After(since); err != nil {
			return res, err
		}
		t.Remember(prev)
		prev = t
		if o.Instance == "" && t.Alive(o.PID, o.Ticks) {
			o.Instance = t.Marker(o.PID)
		}
		members := t.MembersOf(o, true)
		if len(members) == 0 && t.Unsure() {
			// A member may have forked a daemon just as it ended.
			if members, t, err = ps.MembersNow(o, snaps, time.Now()); err != nil {
				return res, err
			}
		}
		if len(members) == 0 {
			return res, nil
		}
		late := time.Since(start) >= timeout
		for _, m := range members {
			mp, _ := t.Get(m)
			mt := mp.StartTicks
			switch {
			case late && !killed[m]:
				killed[m] = true
				res.Killed = append(res.Killed, m)
				if err := signal(m, mt, sigKill); err != nil {
					return res, fmt.Errorf("kill %d: %w", m, err)
				}
			case !late && termed[m] != mt:
				termed[m] = mt
				res.Signalled = append(res.Signalled, m)
				if err := signal(m, mt, sigTerm); err != nil {
					return res, fmt.Errorf("signal %d: %w", m, err)
				}
				signal(m, mt, sigCont)
			}
		}
		if late && time.Since(start) > timeout+5*time.Second {
			return res, fmt.Errorf("processes %s did not end after SIGKILL", joinInts(members))
		}
		// Wait for the members to exit, but look again within memberScan
		// for members that appeared meanwhile (a shell forking), and at
		// the timeout for those that need SIGKILL.
		wait := memberScan
		if left := timeout - time.Since(start); !late && left < wait {
			wait = max(left, 0)
		}
		alive := make(map[int]uint64, len(members))
		for _, m := range members {
			mp, _ := t.Get(m)
			alive[m] = mp.StartTicks
		}
		waitExits(alive, wait)
		since = time.Now()
		if err := ctx.Err(); err != nil {
			// Given up (Ctrl-C): what was signalled is said, the rest runs on.
			return res, err
		}
	}
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, " ")
}
