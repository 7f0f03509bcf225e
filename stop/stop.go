package stop

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"bgrun/ps"
	"bgrun/store"
)

// Options tune a stop.
type Options struct {
	Timeout time.Duration // SIGTERM to SIGKILL; DefaultTimeout when zero
	Out     io.Writer     // progress lines; nil for none
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

func (o Options) say(format string, a ...any) {
	if o.Out != nil {
		fmt.Fprintf(o.Out, format+"\n", a...)
	}
}

// Result says what a stop did.
type Result struct {
	WasRunning bool
	Children   int // managed child processes stopped first
	Tree       TreeResult
}

// Stop stops the record named name and keeps it: its supervisor first (so the
// stop is never undone), then managed processes started from inside it, then
// its own tree. The record is marked stopped before anything is signalled.
func Stop(db *store.DB, name string, opt Options) (Result, error) {
	return stopRecord(db, name, opt, map[string]bool{})
}

func stopRecord(db *store.DB, name string, opt Options, seen map[string]bool) (Result, error) {
	var res Result
	seen[name] = true
	r, err := db.Update(name, func(r *store.Record) error {
		if r.Status == store.StatusRunning {
			r.Status = store.StatusStopped
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := Supervisor(r, opt); err != nil {
		return res, err
	}
	all, err := db.List()
	if err != nil {
		return res, err
	}
	for _, c := range all {
		if c.Parent == name && !seen[c.Name] {
			cr, err := stopRecord(db, c.Name, opt, seen)
			if err != nil {
				return res, fmt.Errorf("stop child %q: %w", c.Name, err)
			}
			if cr.WasRunning {
				res.Children++
			}
		}
	}
	procs, err := ps.Inspect([]store.Record{r}, ps.Options{})
	if err != nil {
		return res, err
	}
	res.WasRunning = procs[0].Running || len(procs[0].PIDs) > 0
	if res.WasRunning {
		if res.Tree, _, err = stopTree(r, opt.timeout(), opt.say); err != nil {
			return res, fmt.Errorf("stop %q: %w", name, err)
		}
	}
	if _, err := db.Update(name, func(r *store.Record) error {
		r.Status = store.StatusStopped
		if res.WasRunning {
			r.ExitedAt = time.Now()
			r.ExitCode, r.ExitSignal = -1, "SIGTERM"
			if len(res.Tree.Killed) > 0 {
				r.ExitSignal = "SIGKILL"
			}
		}
		return nil
	}); err != nil {
		return res, err
	}
	if res.WasRunning {
		detail := map[string]any{"signalled": len(res.Tree.Signalled), "killed": len(res.Tree.Killed)}
		if err := db.AddEvent(store.Event{Name: name, Event: "stop", PID: r.PID, Detail: detail}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Supervisor ends the supervisor of r, if one runs, and leaves r's process
// alone: it is in a session of its own, and `--guard-off` keeps it running.
// The supervisor is one process: SIGTERM, then SIGKILL after the timeout.
func Supervisor(r store.Record, opt Options) error {
	pid, ticks := r.SupervisorPID, r.SupervisorTicks
	if pid == 0 {
		return nil
	}
	if err := signal(pid, ticks, sigTerm); err != nil {
		return fmt.Errorf("stop supervisor of %q: %w", r.Name, err)
	}
	deadline, killed := time.Now().Add(opt.timeout()), false
	for {
		p, ok := ps.Read(pid)
		if !ok || p.StartTicks != ticks || p.State == 'Z' {
			return nil
		}
		if !killed && time.Now().After(deadline) {
			killed = true
			if err := signal(pid, ticks, sigKill); err != nil {
				return fmt.Errorf("stop supervisor of %q: %w", r.Name, err)
			}
		}
		time.Sleep(pollEvery)
	}
}

// Delete stops the record named name, then removes it and its log files.
func Delete(db *store.DB, name string, opt Options) (Result, error) {
	res, err := Stop(db, name, opt)
	if err != nil {
		return res, err
	}
	r, err := db.Get(name)
	if err != nil {
		return res, err
	}
	if err := RemoveContainer(r, opt); err != nil {
		return res, err
	}
	if err := db.Delete(name); err != nil {
		return res, err
	}
	removeLogs(r)
	return res, db.AddEvent(store.Event{Name: name, Event: "delete", PID: r.PID})
}

// removeLogs deletes a record's log files and its supervisor's; a missing
// file is fine. It returns how many it removed.
func removeLogs(r store.Record) int {
	n := 0
	sup, _ := store.SupervisorLog(r.Name)
	for _, p := range append([]string{r.StdoutPath, r.StderrPath, sup}, rotatedLogs(r)...) {
		if p == "" {
			continue
		}
		if err := os.Remove(p); err == nil {
			n++
		}
	}
	return n
}

// Clean removes every record that does not run, with its log files. It
// returns how many records and files it removed.
func Clean(db *store.DB) (records, files int, err error) {
	procs, err := ps.List(db, ps.Options{})
	if err != nil {
		return 0, 0, err
	}
	for _, p := range procs {
		if p.Running {
			continue
		}
		r, err := db.Get(p.Name)
		if err != nil {
			continue
		}
		if err := db.Delete(p.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return records, files, err
		}
		records++
		files += removeLogs(r)
	}
	return records, files, nil
}

// Nuke stops and removes every record with its logs. It returns how many
// records it removed and how many of them were running.
func Nuke(db *store.DB, opt Options) (removed, wasRunning int, err error) {
	recs, err := db.List()
	if err != nil {
		return 0, 0, err
	}
	for _, r := range recs {
		res, err := Delete(db, r.Name, opt)
		if errors.Is(err, store.ErrNotFound) {
			continue // a parent's stop already took it
		}
		if err != nil {
			return removed, wasRunning, err
		}
		removed++
		if res.WasRunning {
			wasRunning++
		}
	}
	return removed, wasRunning, nil
}
