package run

import (
	"context"
	"os/exec"
	"sync"
	"time"

	"bgrun/docker"
	"bgrun/ports"
	"bgrun/ps"
	"bgrun/stop"
	"bgrun/store"
)

// Leader is the leader of a started process, watched until it ends. The CLI,
// the dashboard and the supervisor all watch a start through it, so the
// startup window is decided in one place (waitListening). On Linux it waits on a
// pidfd through Go's poller, so watching many processes costs no thread each.
type Leader struct {
	PID   int
	Ticks uint64
	// Child is true when bgrun started the leader in this process, so its
	// exit status can be collected; an adopted leader's cannot.
	Child bool

	done  chan struct{}
	mu    sync.Mutex
	ended bool
	onEnd func()
	cmd   *exec.Cmd

	code  int
	sig   string
	known bool
	at    time.Time
}

// pollLeader is how often a leader is looked at where no pidfd can wait.
const pollLeader = 200 * time.Millisecond

// follow watches the leader that spawn started as cmd for rec. The caller
// gives up cmd: follow collects its exit status.
func follow(cmd *exec.Cmd, rec *store.Record) *Leader {
	l := &Leader{PID: rec.PID, Ticks: rec.StartTicks, Child: true, cmd: cmd, done: make(chan struct{})}
	l.start()
	return l
}

// Adopt watches a leader that another bgrun started (a supervisor
// re-attaching after its predecessor was killed). Its exit status cannot be
// collected.
func Adopt(pid int, ticks uint64) *Leader {
	l := &Leader{PID: pid, Ticks: ticks, done: make(chan struct{})}
	l.start()
	return l
}

// Done is closed once the leader has ended.
func (l *Leader) Done() <-chan struct{} { return l.done }

// Exit says how the leader ended, once Done is closed: its exit code, or -1
// and the signal's name; known is false when the status could not be
// collected (an adopted leader).
func (l *Leader) Exit() (code int, signal string, known bool, at time.Time) {
	return l.code, l.sig, l.known, l.at
}

// Ended reports whether the leader has ended, without waiting.
func (l *Leader) Ended() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// OnEnd has f called once the leader has ended, on the goroutine that saw
// it end (at once on a goroutine of its own if it already has): a watcher of
// many leaders needs no goroutine of its own per leader.
func (l *Leader) OnEnd(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		go f()
		return
	}
	l.onEnd = f
}

func (l *Leader) finish(code int, sig string, known bool) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	l.ended = true
	l.code, l.sig, l.known, l.at = code, sig, known, time.Now()
	if !known {
		l.code = -1
	}
	f := l.onEnd
	close(l.done)
	l.mu.Unlock()
	if f != nil {
		f()
	}
}

// check looks once whether the leader has ended and finishes it if so.
func (l *Leader) check() bool {
	if l.Child {
		if code, sig, ok := reap(l.cmd); ok {
			l.finish(code, sig, true)
			return true
		}
		return false
	}
	if ps.Alive(l.PID, l.Ticks) {
		return false
	}
	l.finish(-1, "", false)
	return true
}

// poll checks the leader until it ends; the fallback where no pidfd waits.
func (l *Leader) poll() {
	for !l.check() {
		time.Sleep(pollLeader)
	}
}

// listenCheck is how often a start in its window looks whether its tree
// listens yet.
const listenCheck = 20 * time.Millisecond

// waitListening waits out the startup window of a start that spawn made
// and l follows, counted from the spawn, and ends it early, with the ports,
// once the new tree listens on a TCP port: a server is up when it listens,
// and most of what users start is servers. A leader that ends in the window
// is a failed start, unless it exited 0 and left its tree running (a command
// that daemonizes, or `docker run -d`): then the start is good and its tree
// is what runs. A failed start sets rec's exit, ends what is left of its
// tree, and returns a *StartupError with this attempt's stderr (written
// after rec.StderrOffset). It is the one startup rule of every start.
func waitListening(ctx context.Context, l *Leader, rec *store.Record, window time.Duration) ([]int, error) {
	if window <= 0 {
		return nil, ctx.Err()
	}
	// The window counts from the spawn (rec.StartedAt), not from this call:
	// a slow write in between must not move an exit into or out of it.
	end := time.Now().Add(window)
	if !rec.StartedAt.IsZero() {
		end = rec.StartedAt.Add(window)
	}
	t := time.NewTimer(time.Until(end))
	defer t.Stop()
	tick := time.NewTicker(listenCheck)
	defer tick.Stop()
	var known map[uint64]bool // listeners known not to be the tree's
	for ended := false; !ended; {
		select {
		case <-ctx.Done():
			// Its supervisor gives up (its store is gone): no start goes on.
			stop.TreeOf(ps.OwnerOf(*rec), stop.TimeoutOf(*rec))
			return nil, abandoned(ctx)
		case <-t.C:
			return nil, nil
		case <-l.Done():
			if _, _, _, at := l.Exit(); at.After(end) {
				return nil, nil // it ended after its window: a crash, not a failed start
			}
			ended = true
		case <-tick.C:
			if ports := listening(*rec, &known); len(ports) > 0 {
				return ports, nil
			}
		}
	}
	return nil, endedInWindow(l, rec, window)
}

// abandoned is the error of a start whose supervisor gave it up: ctx's
// cause.
func abandoned(ctx context.Context) error {
	return store.Errorf(store.KindFailedStart, "the start was abandoned: %v", context.Cause(ctx))
}

// listening returns the ports that r's tree listens on, read from /proc for
// its members only. Most checks find no listener that was not there at the
// last one (known, which listening keeps) and end after reading the socket
// tables, without looking at any process. The window is judged to its end
// whoever waits for it (the CLI, the supervisor): its queries are bounded by
// their own timeouts, not by a caller's context.
func listening(r store.Record, known *map[uint64]bool) []int {
	inodes, cheap := ports.ListenInodes()
	if cheap && *known != nil && !hasNew(inodes, *known) {
		return nil
	}
	t, err := ps.Snapshot()
	if err != nil {
		return nil
	}
	var found []int
	if members := t.MembersOf(ps.OwnerOf(r), false); len(members) > 0 {
		if ls, err := ps.ListenersOf(context.Background(), members); err == nil {
			found = ps.PortsOf(ls, members)
		}
	}
	if len(found) == 0 && cheap {
		// Read before the snapshot: whoever held these was in it, and not
		// in the tree.
		*known = inodes
	}
	return found
}

func hasNew(inodes, known map[uint64]bool) bool {
	for i := range inodes {
		if !known[i] {
			return true
		}
	}
	return false
}

// endedInWindow judges a leader that ended in its startup window (see
// waitListening).
func endedInWindow(l *Leader, rec *store.Record, window time.Duration) error {
	code, sig, _, at := l.Exit()
	left := false
	if m, _, err := ps.MembersNow(ps.OwnerOf(*rec), nil, time.Now()); err == nil {
		left = len(m) > 0
	}
	if code == 0 && sig == "" {
		if left {
			return nil // the leader daemonized: its tree runs on
		}
		if docker.IsDocker(rec.Command) {
			// `docker run -d` exits at once; its container is what runs.
			if procs, err := ps.Inspect(context.Background(), []store.Record{*rec}, ps.Options{}); err == nil && procs[0].Running {
				return nil
			}
		}
	}
	if left {
		stop.TreeOf(ps.OwnerOf(*rec), stop.TimeoutOf(*rec))
	}
	rec.ExitCode, rec.ExitSignal, rec.ExitedAt = code, sig, at
	return failedStart(*rec, window)
}
