package stack

import (
	"bgrun/run"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"bgrun/docker"
	"bgrun/ps"
	"bgrun/stop"
	"bgrun/store"
)

// Options tune `bgrun up` and `bgrun down`.
type Options struct {
	File  string   // the stack file; file in the working directory when ""
	Names []string // only these processes (up: and what they depend on; down: and what depends on them)
	// Delete makes down remove the records and their logs too.
	Delete bool
	// Env is the caller's environment (os.Environ()), kept by each started
	// record as a plain start keeps it.
	Env         []string
	Home        string        // bgrun's folder, for default log paths
	StopTimeout time.Duration // SIGTERM to SIGKILL when the file sets none
	Grace       time.Duration // the startup window, as in run.Options
	Workers     int           // starts or stops at once; defaultWorkers when 0
}

// defaultWorkers bounds how many processes of a stack start or stop at
// once: enough for a project's stack to come up in parallel, few enough not
// to swamp a small machine.
const defaultWorkers = 4

// errDependency marks a process left alone because one it depends on (up),
// or one depending on it (down), did not come through.
var errDependency = errors.New("dependency failed")

// loadStack reads the options' stack file and prints its warnings.
func (o *Options) loadStack(stderr io.Writer) (*Stack, error) {
	path := o.File
	if path == "" {
		path = file
	}
	st, err := load(path)
	if err != nil {
		return nil, err
	}
	for _, w := range st.Warnings {
		fmt.Fprintf(stderr, "bgrun: %s\n", w)
	}
	return st, nil
}

// lineWriter prints whole lines from many goroutines without mixing them.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) say(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", a...)
}

// Up is `bgrun up`: it starts the stack's processes (or the named ones and
// what they depend on), each once those it depends on are up, independent
// ones in parallel. A process that runs with the same definition is left
// alone, one whose definition changed is restarted, and a missing or
// stopped one is started. It prints one line per process and fails when one
// did not start, stopping nothing that runs.
func Up(ctx context.Context, db *store.DB, stdout, stderr io.Writer, o Options) error {
	st, err := o.loadStack(stderr)
	if err != nil {
		return err
	}
	sel, err := st.Select(o.Names, false)
	if err != nil {
		return err
	}
	if len(o.Names) == 0 {
		noteOrphans(db, st, stderr)
	}
	// One up or down of a file at a time: a second up finds the first's
	// work done. A down does not wait for it: it wins (see Down).
	unlock, err := db.LockWork("stack", st.Abs)
	if err != nil {
		return err
	}
	defer unlock()
	epoch, err := db.StackEpoch(st.Abs)
	if err != nil {
		return err
	}
	// gate ends when a down of the stack comes: no start begins after it,
	// and the starts going on end as the down stops them.
	gate, downCame := context.WithCancel(ctx)
	defer downCame()
	out, errw := &lineWriter{w: stdout}, &lineWriter{w: stderr}
	waits := map[string][]string{}
	for _, sp := range sel {
		waits[sp.Name] = sp.DependsOn
	}
	byName := map[string]Process{}
	for _, sp := range sel {
		byName[sp.Name] = sp
	}
	results := runOrdered(gate, names(sel), waits, o.Workers, func(name string) error {
		line, err := upOne(ctx, db, st, byName[name], &o, epoch)
		if err != nil && gate.Err() == nil {
			if e, eerr := db.StackEpoch(st.Abs); eerr == nil && e != epoch {
				downCame()
			}
		}
		if err != nil && gate.Err() != nil && ctx.Err() == nil {
			out.say("%s: not started: bgrun down came first", name)
			return errDown
		}
		if err != nil {
			msg, tail, _ := strings.Cut(err.Error(), "\n")
			out.say("%s: failed: %s", name, msg)
			if tail != "" {
				errw.say("%s", indent(tail, "  "+name+"| "))
			}
			return err
		}
		out.say("%s: %s", name, line)
		return nil
	}, func(name, because string) {
		out.say("%s: not started: %s did not start", name, because)
	})
	if gate.Err() != nil && ctx.Err() == nil {
		for _, n := range names(sel) {
			if errors.Is(results[n], context.Canceled) {
				out.say("%s: not started: bgrun down came first", n)
				results[n] = errDown
			}
		}
	}
	sayInterrupted(out, names(sel), results, "not started")
	return summary(results, "start")
}

// errDown is a start of an up that a down of its stack came before.
var errDown = errors.New("bgrun down came first")

// upOne brings one process of the stack up and says how.
func upOne(ctx context.Context, db *store.DB, st *Stack, sp Process, o *Options, epoch int64) (string, error) {
	set := stackSet(st, sp)
	rec, err := db.Get(sp.Name)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if exists && rec.Group != "" && rec.Group != st.Name {
		return "", fmt.Errorf("a process named %s already belongs to group %q; rename it in %s or delete that one",
			sp.Name, rec.Group, st.Path)
	}
	running := false
	if exists {
		procs, err := ps.Inspect(ctx, []store.Record{rec}, ps.Options{})
		if err != nil {
			return "", err
		}
		running = procs[0].Running
		if running && sameDefinition(rec, sp, set) {
			return fmt.Sprintf("up to date (pid %d)", rec.PID), nil
		}
		if sp.Config == "" && (rec.ConfigPath != "" || rec.NoConfig) {
			// A start keeps a stored config path unless given another;
			// the file now wants the default, so clear it first.
			if _, err := db.Update(sp.Name, func(r *store.Record) error {
				r.ConfigPath, r.NoConfig = "", false
				return nil
			}); err != nil {
				return "", err
			}
		}
	}
	timeout := sp.StopTimeout
	if timeout == 0 {
		timeout = o.StopTimeout
	}
	envFiles := sp.EnvFiles
	if envFiles == nil {
		envFiles = []string{}
	}
	env := o.Env
	if env == nil {
		env = []string{}
	}
	res, err := run.Request(ctx, db, run.Options{
		Name: sp.Name, Command: sp.Command, Dir: sp.Dir, Force: true,
		Stdout: sp.Stdout, Stderr: sp.Stderr, Config: sp.Config, EnvFiles: envFiles,
		Env: env, Set: set, Grace: o.Grace,
		Watch: sp.Watch, Guard: sp.Guard, Ignore: sp.Ignore, MaxRestarts: sp.MaxRestarts,
		Home: o.Home, StopTimeout: timeout, Duties: sp.duties(),
		Expect: store.Cond{Stack: st.Abs, Epoch: epoch},
	}, nil)
	if err != nil {
		return "", err
	}
	verb := "started"
	if running || res.Replaced {
		verb = "restarted"
	}
	return fmt.Sprintf("%s (pid %d)", verb, res.Record.PID), nil
}

// duties are the process's readiness check, memory limit and log cap as a
// start takes them (a size of 0 turns its limit off).
func (sp Process) duties() run.Duties {
	size := func(s string) int64 {
		if s == "" {
			return 0
		}
		n, _ := run.ParseSize(s) // checked when the file was read
		if n == 0 {
			return -1
		}
		return n
	}
	return run.Duties{Ready: sp.Ready, ReadyTimeout: sp.ReadyTimeout, MaxMemory: size(sp.MaxMemory), LogMaxSize: size(sp.LogMaxSize)}
}

// stackSet is what a stack gives a process explicitly: its env table, then
// BGR_GROUP, which puts it in the stack's group.
func stackSet(st *Stack, sp Process) []string {
	set := make([]string, 0, len(sp.Env)+1)
	for _, v := range sp.Env {
		if v.Key != "BGR_GROUP" {
			set = append(set, v.String())
		}
	}
	return append(set, "BGR_GROUP="+st.Name)
}

// sameDefinition reports whether rec was started from sp as the file now
// defines it. The comparison is on what the record stores, so no hash needs
// keeping: command, directory, variables, env and config files,
// supervision, and log paths the file names.
func sameDefinition(rec store.Record, sp Process, set []string) bool {
	d := sp.duties()
	return rec.Command == docker.Label(sp.Command, sp.Name) &&
		rec.Ready == d.Ready && rec.ReadyTimeout == d.ReadyTimeout &&
		rec.MaxMemory == d.MaxMemory && rec.LogMaxSize == d.LogMaxSize &&
		rec.Dir == sp.Dir &&
		slices.Equal(rec.Set, set) &&
		slices.Equal(rec.EnvFiles, sp.EnvFiles) &&
		!rec.NoConfig && rec.ConfigPath == sp.Config &&
		rec.Watch == sp.Watch && rec.Guard == sp.Guard &&
		slices.Equal(rec.WatchIgnore, sp.Ignore) &&
		rec.MaxRestarts == sp.MaxRestarts &&
		(sp.Stdout == "" || rec.StdoutPath == sp.Stdout) &&
		(sp.Stderr == "" || rec.StderrPath == sp.Stderr)
}

// noteOrphans says which records of the stack's group the file no longer
// defines: up leaves them alone.
func noteOrphans(db *store.DB, st *Stack, stderr io.Writer) {
	recs, err := db.List()
	if err != nil {
		return
	}
	idx := st.index()
	for _, r := range recs {
		if _, ok := idx[r.Name]; !ok && r.Group == st.Name {
			fmt.Fprintf(stderr, "bgrun: %s is in group %s but not in %s; left alone\n", r.Name, st.Name, st.Path)
		}
	}
}

// Down is `bgrun down`: it stops the stack's processes (or the named ones
// and what depends on them), each after those that depend on it, and with
// Delete removes their records and logs. A record of the same name that the
// stack did not start (another group) is left alone.
func Down(ctx context.Context, db *store.DB, stdout, stderr io.Writer, o Options) error {
	st, err := o.loadStack(stderr)
	if err != nil {
		return err
	}
	sel, err := st.Select(o.Names, true)
	if err != nil {
		return err
	}
	// A down wins over an up going on: from here on that up starts
	// nothing, and what it started is stopped below. Then it waits for the
	// up to end, so that nothing of the stack is left starting.
	if err := db.BumpStack(st.Abs); err != nil {
		return err
	}
	defer func() {
		if unlock, err := db.LockWork("stack", st.Abs); err == nil {
			unlock()
		}
	}()
	in := map[string]bool{}
	for _, sp := range sel {
		in[sp.Name] = true
	}
	// Reverse the edges: a process waits for its dependents to stop.
	waits := map[string][]string{}
	byName := map[string]Process{}
	for _, sp := range sel {
		byName[sp.Name] = sp
		for _, d := range sp.DependsOn {
			if in[d] {
				waits[d] = append(waits[d], sp.Name)
			}
		}
	}
	out := &lineWriter{w: stdout}
	results := runOrdered(ctx, names(sel), waits, o.Workers, func(name string) error {
		line, err := downOne(ctx, db, st, byName[name], &o)
		if err != nil {
			out.say("%s: failed: %s", name, firstLine(err.Error()))
			return err
		}
		out.say("%s: %s", name, line)
		return nil
	}, func(name, because string) {
		out.say("%s: not stopped: %s did not stop", name, because)
	})
	sayInterrupted(out, names(sel), results, "not stopped")
	return summary(results, "stop")
}

func downOne(ctx context.Context, db *store.DB, st *Stack, sp Process, o *Options) (string, error) {
	rec, err := db.Get(sp.Name)
	if errors.Is(err, store.ErrNotFound) {
		return "no record", nil
	}
	if err != nil {
		return "", err
	}
	if rec.Group != st.Name {
		return fmt.Sprintf("left alone (it was not started by this stack: its group is %q)", rec.Group), nil
	}
	opt := stop.Options{Timeout: sp.StopTimeout}
	if opt.Timeout == 0 {
		opt.Timeout = o.StopTimeout
	}
	if o.Delete {
		res, err := stop.Delete(ctx, db, sp.Name, opt)
		if errors.Is(err, store.ErrNotFound) {
			return "no record", nil
		}
		if err != nil {
			return "", err
		}
		if res.WasRunning {
			return "stopped and deleted", nil
		}
		return "deleted", nil
	}
	res, err := stop.Stop(ctx, db, sp.Name, opt)
	if errors.Is(err, store.ErrNotFound) {
		return "no record", nil
	}
	if err != nil {
		return "", err
	}
	if res.WasRunning {
		return "stopped", nil
	}
	return "already stopped", nil
}

// sayInterrupted prints a line for each process left alone because the
// command was interrupted (Ctrl-C) before its turn.
func sayInterrupted(out *lineWriter, order []string, results map[string]error, what string) {
	for _, n := range order {
		if err := results[n]; errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			out.say("%s: %s: interrupted", n, what)
		}
	}
}

func names(sel []Process) []string {
	out := make([]string, len(sel))
	for i, sp := range sel {
		out[i] = sp.Name
	}
	return out
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// summary turns the results into the command's error: nil when all went
// well.
func summary(results map[string]error, verb string) error {
	failed := 0
	for _, err := range results {
		if err != nil {
			failed++
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d processes did not %s", failed, len(results), verb)
}

// runOrdered calls fn(name) for each name once every name it waits for
// (among names) is done, at most workers calls at a time, and returns each
// name's error. A name whose wait ended in an error is not run: skipped
// reports it with the first such name, and its error is errDependency.
// Once ctx is done, no further fn starts. waits must be acyclic.
func runOrdered(ctx context.Context, names []string, waits map[string][]string, workers int,
	fn func(name string) error, skipped func(name, because string)) map[string]error {
	if workers <= 0 {
		workers = defaultWorkers
	}
	done := make(map[string]chan struct{}, len(names))
	for _, n := range names {
		done[n] = make(chan struct{})
	}
	var mu sync.Mutex
	results := make(map[string]error, len(names))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[n])
			var err error
			defer func() {
				mu.Lock()
				results[n] = err
				mu.Unlock()
			}()
			for _, d := range waits[n] {
				ch, ok := done[d]
				if !ok {
					continue // not selected: nothing to wait for
				}
				<-ch
				mu.Lock()
				derr := results[d]
				mu.Unlock()
				if derr != nil {
					err = fmt.Errorf("%w: %s", errDependency, d)
					skipped(n, d)
					return
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if err = ctx.Err(); err != nil {
				return
			}
			err = fn(n)
		}()
	}
	wg.Wait()
	return results
}
