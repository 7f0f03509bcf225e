// Package boot implements `bgrun resurrect`, which starts again what was
// left running, and `bgrun startup` and `unstartup`, which have the init
// system run the store's supervisor at boot, resurrecting.
package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"bgrun/ps"
	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
)

// ResurrectOptions tune Resurrect.
type ResurrectOptions struct {
	Group string // only records of this BGR_GROUP; "" for all
	// Start is the template of every start: Home, StopTimeout and Grace
	// are taken from it.
	Start run.Options
	// Workers bounds how many starts run at once; stop.Workers when zero.
	Workers int
}

// ErrResurrect is returned when a record could not be started again.
var ErrResurrect = errors.New("failed to start")

// Resurrect is `bgrun resurrect`: it starts every wanted record that does not
// run, with its stored command, directory, environment, guard and watch, as
// `bgrun --restart` would, and leaves the others alone. It prints one line
// per wanted record, in the order of the list: started, already running, or
// failed with the reason. Starts run a few at a time, so that many records
// take about one startup window rather than one each. It fails when any
// record failed to start; run again, it starts nothing.
func Resurrect(ctx context.Context, db *store.DB, w io.Writer, o ResurrectOptions) error {
	// One at a time: a second resurrect finds the first's work done.
	unlock, err := db.LockWork("resurrect", "")
	if err != nil {
		return err
	}
	defer unlock()
	recs, err := db.List()
	if err != nil {
		return err
	}
	var wanted []store.Record
	for _, r := range recs {
		if r.Wanted && (o.Group == "" || r.Group == o.Group) {
			wanted = append(wanted, r)
		}
	}
	if len(wanted) == 0 {
		what := "no process"
		if o.Group != "" {
			what = fmt.Sprintf("no process of group %q", o.Group)
		}
		fmt.Fprintf(w, "Nothing to resurrect: %s was left running.\n", what)
		return nil
	}
	procs, err := ps.Inspect(ctx, wanted, ps.Options{})
	if err != nil {
		return err
	}
	lines := make([]string, len(wanted))
	failed := make([]bool, len(wanted))
	workers := o.Workers
	if workers <= 0 {
		workers = stop.Workers
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, r := range wanted {
		p := procs[i]
		if p.Running || (p.Status == store.StatusStarting && p.Supervised) {
			lines[i] = fmt.Sprintf("%s: already running (pid %d)", r.Name, p.PID)
			continue
		}
		wg.Add(1)
		go func(i int, name string, r store.Record) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				lines[i], failed[i] = fmt.Sprintf("%s: failed: %v", name, ctx.Err()), true
				return
			}
			defer func() { <-sem }()
			so := o.Start
			so.Name, so.Restart = name, true
			so.Command, so.Dir, so.Env, so.Force = "", "", nil, false
			// Only while it is as seen: a guard that restarted it meanwhile
			// came first.
			so.Expect = store.Cond{Marker: r.Instance, Status: []store.Status{r.Status}}
			res, err := run.Request(ctx, db, so, nil)
			if errors.Is(err, store.ErrChanged) {
				lines[i] = fmt.Sprintf("%s: already running", name)
				return
			}
			if err != nil {
				lines[i], failed[i] = fmt.Sprintf("%s: failed: %s", name, failReason(err.Error())), true
				return
			}
			lines[i] = fmt.Sprintf("%s: started (pid %d)", name, res.Record.PID)
			if res.Record.Guard || res.Record.Watch {
				lines[i] += ", supervised"
			}
		}(i, r.Name, r)
	}
	wg.Wait()
	n := 0
	for i, l := range lines {
		fmt.Fprintln(w, l)
		if failed[i] {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("%d of %d wanted process%s %w", n, len(wanted), plural(len(wanted)), ErrResurrect)
	}
	return nil
}

// failReason is the first line of a failed start's error, without the tail of
// its log.
func failReason(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	l, _, _ = strings.Cut(l, "; last lines of")
	return l
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}
