package stop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"bgrun/ps"
	"bgrun/store"
)

// CmdOptions are the flags of `bgrun stop NAME...` (`bgrun --stop NAME`,
// `bgrun --stop-all`) and of delete and nuke.
type CmdOptions struct {
	Names []string
	All   bool // every record (stop only)
	Options
}

// CmdStop is the stop command: stop each named process (or all) and keep its
// record and logs.
func CmdStop(ctx context.Context, db *store.DB, w, errw io.Writer, o CmdOptions) error {
	if o.All {
		o.Snapshots = new(ps.Shared)
		return EachRecord(ctx, db, w, errw, "stop", func(r store.Record, w io.Writer) error {
			res, err := Stop(ctx, db, r.Name, o.Options)
			if err == nil && (res.WasRunning || res.WasWaiting) {
				fmt.Fprintln(w, stopLine(r.Name, res))
			}
			return err
		})
	}
	if err := validNames(o.Names); err != nil {
		return err
	}
	for _, n := range o.Names {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := Stop(ctx, db, n, o.Options)
		if err != nil {
			return err
		}
		msg := stopLine(n, res)
		if res.Children > 0 {
			msg += fmt.Sprintf(" Stopped %d managed child process%s first.", res.Children, plural(res.Children, "es"))
		}
		fmt.Fprintln(w, msg)
	}
	return nil
}

// stopLine says what the stop of name did.
func stopLine(name string, res Result) string {
	switch {
	case res.WasRunning:
		return fmt.Sprintf("Stopped %s.", name)
	case res.WasWaiting:
		return fmt.Sprintf("Stopped %s: its guard no longer restarts it.", name)
	}
	return fmt.Sprintf("%s is already stopped.", name)
}

// CmdDelete is the delete command: stop each named process and remove its
// record and log files.
func CmdDelete(ctx context.Context, db *store.DB, w io.Writer, o CmdOptions) error {
	if err := validNames(o.Names); err != nil {
		return err
	}
	for _, n := range o.Names {
		if err := ctx.Err(); err != nil {
			return err
		}
		opt := o.Options
		opt.Out = w // names the files it keeps
		res, err := Delete(ctx, db, n, opt)
		if err != nil {
			return err
		}
		if res.WasRunning {
			fmt.Fprintf(w, "Stopped and deleted %s.\n", n)
		} else {
			fmt.Fprintf(w, "Deleted %s.\n", n)
		}
	}
	return nil
}

// CmdClean is the clean command: remove every stopped process and its logs.
func CmdClean(ctx context.Context, db *store.DB, w io.Writer, o Options) error {
	o.Out = w // names the files it keeps
	n, files, err := clean(ctx, db, o)
	if err != nil {
		return err
	}
	if n == 0 {
		_, err = fmt.Fprintln(w, "No stopped processes to clean.")
		return err
	}
	_, err = fmt.Fprintf(w, "Cleaned %d stopped process%s and removed %d log file%s.\n", n, plural(n, "es"), files, plural(files, "s"))
	return err
}

// CmdNuke is the nuke command: stop and remove everything.
func CmdNuke(ctx context.Context, db *store.DB, w io.Writer, o Options) error {
	o.Out = w // names the files it keeps
	n, running, err := Nuke(ctx, db, o)
	if n == 0 && err == nil {
		_, err = fmt.Fprintln(w, "There are no processes to delete.")
		return err
	}
	if n > 0 {
		verb := "were"
		if running == 1 {
			verb = "was"
		}
		if _, werr := fmt.Fprintf(w, "Deleted %d process%s (%d %s running).\n", n, plural(n, "es"), running, verb); err == nil {
			err = werr
		}
	}
	return err
}

// KillPortOptions are the flags of `bgrun kill-port N` (`bgrun --kill-port N`).
type KillPortOptions struct {
	Port int
	Options
}

// CmdKillPort is the kill-port command: end whatever listens on a port.
func CmdKillPort(ctx context.Context, w io.Writer, o KillPortOptions) error {
	ended, err := killPort(ctx, o.Port, o.Options)
	for _, h := range ended {
		fmt.Fprintf(w, "Ended pid %d (%s), which listened on port %d.\n", h.PID, h.Command, o.Port)
	}
	if err != nil {
		return err
	}
	if len(ended) == 0 {
		_, err = fmt.Fprintf(w, "Port %d is already free.\n", o.Port)
		return err
	}
	_, err = fmt.Fprintf(w, "Freed port %d.\n", o.Port)
	return err
}

// EachRecord runs fn on every record (stop --all, restart --all), Workers at
// a time, so that many stops take about one stop and many restarts about
// one startup window; each record's own lock keeps two changes of it apart.
// fn is given w, made safe for the concurrent calls. It reports each failure
// on errw and goes on; it fails if any did. A record that vanished meanwhile
// (a parent's stop took it) is no failure.
func EachRecord(ctx context.Context, db *store.DB, w, errw io.Writer, verb string, fn func(r store.Record, w io.Writer) error) error {
	recs, err := db.List()
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		_, err = fmt.Fprintln(w, "No processes registered.")
		return err
	}
	mu := new(sync.Mutex) // one lock: stdout and stderr lines stay in order
	lw, lerrw := &lockedWriter{mu, w}, &lockedWriter{mu, errw}
	errs := concurrently(ctx, recs, func(r store.Record) error {
		err := fn(r, lw)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			if ctx.Err() == nil { // once interrupted, one line says so for all
				fmt.Fprintf(lerrw, "bgrun: %s %s: %v\n", verb, r.Name, err)
			}
			return err
		}
		return nil
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if failed := len(errs); failed > 0 {
		return fmt.Errorf("%s failed for %d of %d processes", verb, failed, len(recs))
	}
	return nil
}

// Workers is how many records a bulk action (stop --all, restart --all,
// nuke) changes at once.
const Workers = 32

// concurrently calls fn for each record, Workers at a time, until ctx ends,
// and returns the errors it gave.
func concurrently(ctx context.Context, recs []store.Record, fn func(store.Record) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, Workers)
	for _, r := range recs {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(r); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// lockedWriter lets concurrent calls write whole lines to one stream.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func validNames(names []string) error {
	for _, n := range names {
		if err := store.ValidateName(n); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, suffix string) string {
	if n == 1 {
		return ""
	}
	return suffix
}
