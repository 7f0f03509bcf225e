package stop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"bgrun/docker"
	"bgrun/ps"
	"bgrun/store"
)

// Options tune a stop.
type Options struct {
	// Timeout is SIGTERM to SIGKILL, given for this stop; when zero, the
	// record's own (its start's --timeout or stop_timeout), else Default,
	// else defaultTimeout.
	Timeout time.Duration
	Default time.Duration
	Out     io.Writer // progress lines; nil for none
	// Snapshots shares process snapshots among the stops of one bulk
	// action; nil: each stop takes its own.
	Snapshots *ps.Shared
}

// For returns the options of a stop of r: its timeout decided (see
// Options.Timeout).
func (o Options) For(r store.Record) Options {
	switch {
	case o.Timeout > 0:
	case r.StopTimeout > 0:
		o.Timeout = r.StopTimeout
	case o.Default > 0:
		o.Timeout = o.Default
	default:
		o.Timeout = defaultTimeout
	}
	return o
}

// TimeoutOf is how long a stop of r by bgrun itself (a start's cleanup,
// a supervisor) waits after SIGTERM: its own timeout, else the default.
func TimeoutOf(r store.Record) time.Duration { return Options{}.For(r).Timeout }

func (o Options) timeout() time.Duration {
	switch {
	case o.Timeout > 0:
		return o.Timeout
	case o.Default > 0:
		return o.Default
	}
	return defaultTimeout
}

func (o Options) say(format string, a ...any) {
	if o.Out != nil {
		fmt.Fprintf(o.Out, format+"\n", a...)
	}
}

// Result says what a stop did.
type Result struct {
	WasRunning bool
	// WasWaiting: nothing ran, but its guard was waiting to restart it.
	WasWaiting bool
	Children   int // managed child processes stopped first
	Tree       TreeResult
}

// Stop stops the record named name and keeps it: its supervisor first (so the
// stop is never undone), then managed processes started from inside it, then
// its own tree. The record is marked stopped before anything is signalled.
// It holds the name's lock, so a stop issued during a start or restart
// waits for it and then wins: the process ends stopped.
func Stop(ctx context.Context, db *store.DB, name string, opt Options) (Result, error) {
	unlock, err := db.Lock(name)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	return stopRecord(ctx, db, name, opt, map[string]bool{})
}

// stopRecord stops name, whose lock the caller holds; children's locks are
// taken here, parent before child.
func stopRecord(ctx context.Context, db *store.DB, name string, opt Options, seen map[string]bool) (Result, error) {
	var res Result
	seen[name] = true
	// Marked stopped first: no supervisor restarts a stopped record, and a
	// start going on of it ends (its next transition finds it stopped).
	r, err := db.Stop(name, func(r store.Record) time.Duration { return opt.For(r).Timeout })
	if err != nil {
		return res, err
	}
	res.WasWaiting = r.Status == store.StatusRestarting
	children, err := db.Children(name)
	if err != nil {
		return res, err
	}
	for _, c := range children {
		if !seen[c] {
			unlock, err := db.Lock(c)
			if err != nil {
				return res, err
			}
			cr, err := stopRecord(ctx, db, c, opt, seen)
			unlock()
			if err != nil {
				return res, fmt.Errorf("stop child %q: %w", c, err)
			}
			if cr.WasRunning {
				res.Children++
			}
		}
	}
	var snap *ps.Table
	if res.WasRunning, snap, err = runs(ctx, r, opt.Snapshots); err != nil {
		return res, err
	}
	opt = opt.For(r)
	if res.WasRunning {
		if res.Tree, _, err = stopTree(ctx, r, opt.timeout(), opt.say, snap, opt.Snapshots); err != nil {
			return res, fmt.Errorf("stop %q: %w", name, err)
		}
	}
	switch {
	case res.WasRunning:
		res.WasWaiting = false
		e := store.Exit{Code: -1, Signal: "SIGTERM", Known: true, At: time.Now()}
		if len(res.Tree.Killed) > 0 {
			e.Signal = "SIGKILL"
		}
		return res, db.StopDone(name, r.Instance, &e, store.Detail{Signalled: len(res.Tree.Signalled), Killed: len(res.Tree.Killed)})
	case res.WasWaiting:
		return res, db.StopDone(name, r.Instance, nil, store.Detail{Reason: "its guard was waiting to restart it"})
	}
	return res, nil
}

// runs reports whether anything of r runs: a member of its tree, or its
// container. Only a docker record needs the full inspection (and its docker
// query); for the rest one process snapshot (taken after this call began,
// from snaps) answers, and is returned for the stop to start from.
func runs(ctx context.Context, r store.Record, snaps *ps.Shared) (bool, *ps.Table, error) {
	since := time.Now()
	if docker.IsDocker(r.Command) {
		procs, err := ps.Inspect(ctx, []store.Record{r}, ps.Options{})
		if err != nil {
			return false, nil, err
		}
		return procs[0].Running || len(procs[0].PIDs) > 0, nil, nil
	}
	m, t, err := ps.MembersNow(ps.OwnerOf(r), snaps, since)
	if err != nil {
		return false, nil, err
	}
	return len(m) > 0, &t, nil
}

// Delete stops the record named name, then removes it with the log files
// bgrun created for it (see removeLogs), holding the name's lock throughout:
// a start or restart going on finishes first, and what it started is stopped
// with the rest.
func Delete(ctx context.Context, db *store.DB, name string, opt Options) (Result, error) {
	unlock, err := db.Lock(name)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	res, err := stopRecord(ctx, db, name, opt, map[string]bool{})
	if err != nil {
		return res, err
	}
	r, err := db.Get(name)
	if err != nil {
		return res, err
	}
	if err := RemoveContainer(ctx, r, opt); err != nil {
		return res, err
	}
	if err := db.Delete(name); err != nil {
		return res, err
	}
	removeLogs(db, r, opt)
	return res, db.AddEvent(store.Event{Name: name, Event: store.EventDelete, PID: r.PID})
}

// removeLogs deletes the log files of a removed record that bgrun created,
// and its supervisor's log; it names every other file it leaves (one line
// each, through opt.Out). It returns how many files it removed.
func removeLogs(db *store.DB, r store.Record, opt Options) int {
	n := 0
	files := []struct {
		path  string
		owned bool
	}{{r.StdoutPath, r.StdoutOwned}, {r.StderrPath, r.StderrOwned}, {store.SupervisorLog(db.Dir(), r.Name), true}}
	if r.StderrPath == r.StdoutPath {
		files[1].path = ""
	}
	for _, p := range rotatedLogs(r) {
		files = append(files, struct {
			path  string
			owned bool
		}{p, true})
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		removed, why := removeOwned(f.path, f.owned)
		if removed {
			n++
		} else if why != "" {
			opt.say("kept %s: %s", f.path, why)
		}
	}
	return n
}

// removeOwned removes the file at path if bgrun created it (owned) and it
// is still a regular file: never a symbolic link (nor what it points to), a
// device, a FIFO or a folder. why says why an existing file was kept; a
// missing file gives "".
func removeOwned(path string, owned bool) (removed bool, why string) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, ""
	case err != nil:
		return false, err.Error()
	case !owned:
		return false, "not created by bgrun"
	case fi.Mode()&fs.ModeSymlink != 0:
		return false, "a symbolic link"
	case !fi.Mode().IsRegular():
		return false, "not a regular file"
	case store.IsDatabase(path):
		return false, "a database, not a log" // a folder on the way became a link to a store
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err.Error()
	}
	return true, ""
}

// clean removes every record that does not run, with the log files bgrun created
// for it (opt.Out hears of the files it keeps). It
// never removes a record that is starting, running, or waiting for its
// supervisor to restart it, nor one whose lock someone holds (a start, stop
// or restart is changing it): those are left for a later clean. It returns
// how many records and files it removed.
func clean(ctx context.Context, db *store.DB, opt Options) (records, files int, err error) {
	recs, err := db.List()
	if err != nil {
		return 0, 0, err
	}
	for _, r := range recs {
		removed, n, err := cleanOne(ctx, db, r.Name, opt)
		if err != nil {
			return records, files, err
		}
		if removed {
			records++
			files += n
		}
	}
	return records, files, nil
}

func cleanOne(ctx context.Context, db *store.DB, name string, opt Options) (removed bool, files int, err error) {
	unlock, ok, err := db.TryLock(name)
	if err != nil || !ok {
		return false, 0, err
	}
	defer unlock()
	r, err := db.Get(name)
	if errors.Is(err, store.ErrNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	procs, err := ps.Inspect(ctx, []store.Record{r}, ps.Options{})
	if err != nil {
		return false, 0, err
	}
	p := procs[0]
	// A supervised record may be waiting for its restart; a stopped one
	// never is, even before its supervisor has let it go.
	waiting := (r.Guard || r.Watch) && p.Supervised && r.Status != store.StatusStopped
	if p.Running || len(p.PIDs) > 0 || r.Status == store.StatusStarting || waiting {
		return false, 0, nil
	}
	if err := db.Delete(name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false, 0, nil
		}
		return false, 0, err
	}
	return true, removeLogs(db, r, opt), nil
}

// Nuke stops and removes every record with its logs. A record that cannot
// be stopped or removed is reported in the error and the others are still
// removed: one bad record never stops a nuke. It returns how many records
// it removed and how many of them were running.
func Nuke(ctx context.Context, db *store.DB, opt Options) (removed, wasRunning int, err error) {
	recs, err := db.List()
	if err != nil {
		return 0, 0, err
	}
	var mu sync.Mutex
	opt.Snapshots = new(ps.Shared)
	if opt.Out != nil {
		opt.Out = &lockedWriter{new(sync.Mutex), opt.Out} // the deletes say what they keep at once
	}
	errs := concurrently(ctx, recs, func(r store.Record) error {
		res, err := Delete(ctx, db, r.Name, opt)
		if errors.Is(err, store.ErrNotFound) {
			return nil // a parent's stop already took it
		}
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		mu.Lock()
		defer mu.Unlock()
		removed++
		if res.WasRunning {
			wasRunning++
		}
		return nil
	})
	return removed, wasRunning, errors.Join(errs...)
}
