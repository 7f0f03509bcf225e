package stop

import (
	"context"
	"errors"
	"fmt"
	"io"

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
		return EachRecord(ctx, db, w, errw, "stop", func(r store.Record) error {
			res, err := Stop(db, r.Name, o.Options)
			if err == nil && res.WasRunning {
				fmt.Fprintf(w, "Stopped %s.\n", r.Name)
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
		res, err := Stop(db, n, o.Options)
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("Stopped %s.", n)
		if !res.WasRunning {
			msg = fmt.Sprintf("%s is already stopped.", n)
		}
		if res.Children > 0 {
			msg += fmt.Sprintf(" Stopped %d managed child process%s first.", res.Children, plural(res.Children, "es"))
		}
		fmt.Fprintln(w, msg)
	}
	return nil
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
		res, err := Delete(db, n, opt)
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
	n, files, err := Clean(db, o)
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
	n, running, err := Nuke(db, o)
	if err != nil {
		if n > 0 {
			fmt.Fprintf(w, "Deleted %d process%s (%d were running).\n", n, plural(n, "es"), running)
		}
		return err
	}
	if n == 0 {
		_, err = fmt.Fprintln(w, "There are no processes to delete.")
		return err
	}
	_, err = fmt.Fprintf(w, "Deleted %d process%s (%d were running).\n", n, plural(n, "es"), running)
	return err
}

// KillPortOptions are the flags of `bgrun kill-port N` (`bgrun --kill-port N`).
type KillPortOptions struct {
	Port int
	Options
}

// CmdKillPort is the kill-port command: end whatever listens on a port.
func CmdKillPort(ctx context.Context, w io.Writer, o KillPortOptions) error {
	ended, err := KillPort(o.Port, o.Options)
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

// EachRecord runs fn on every record (stop --all, restart --all), reporting
// each failure on errw and going on; it fails if any did. A record that
// vanished meanwhile (a parent's stop took it) is no failure.
func EachRecord(ctx context.Context, db *store.DB, w, errw io.Writer, verb string, fn func(store.Record) error) error {
	recs, err := db.List()
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		_, err = fmt.Fprintln(w, "No processes registered.")
		return err
	}
	failed := 0
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil && !errors.Is(err, store.ErrNotFound) {
			failed++
			fmt.Fprintf(errw, "bgrun: %s %s: %v\n", verb, r.Name, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s failed for %d of %d processes", verb, failed, len(recs))
	}
	return nil
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
