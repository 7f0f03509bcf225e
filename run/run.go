// Package run implements starting and restarting managed processes
// (`bgrun --name N --command C`, `bgrun -- CMD`, `bgrun --restart N`),
// running a command with the config's environment (`bgrun inline`) and
// printing it (`bgrun --env`).
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"bgrun/docker"
	"bgrun/ps"
	"bgrun/stop"
	"bgrun/store"
)

// defaultGrace is the startup window: a process that ends within it is a
// failed start.
const defaultGrace = 500 * time.Millisecond

// defaultConfig is the config file loaded from the working directory when no
// --config is given.
const defaultConfig = ".config.toml"

// Options describe a start. Empty fields fall back to the stored record on a
// restart, then to the defaults. Paths are absolute (the client makes them
// so), as the supervisor that starts the process runs elsewhere.
type Options struct {
	Name    string
	Command string
	Dir     string // working directory
	Force   bool   // replace a running process
	// Restart reuses the stored command, directory and environment.
	Restart bool

	Stdout, Stderr, LogsDir string
	Config                  string // TOML config, relative to Dir or absolute
	NoConfig                bool
	EnvFiles                []string // .env files, relative to Dir or absolute
	// Env is the caller's environment (os.Environ()); nil keeps the stored one.
	Env []string
	Set []string // KEY=VALUE given explicitly
	// Fetch runs `git pull --ff-only` in Dir before starting (the client
	// does, in the caller's environment).
	Fetch bool
	// Grace is the startup window: defaultGrace when zero (a restart keeps
	// the stored one), none when negative.
	Grace time.Duration

	// Watch and Guard hand the process to the supervisor's watcher and
	// crash guard. An explicit start (with a command) sets them as given; a
	// restart keeps the stored ones and adds what is given.
	Watch, Guard bool
	Ignore       []string // extra watch ignore patterns
	MaxRestarts  int      // guard: give up after this many restarts in a row
	// Duties are log rotation, the readiness check, health checks and the
	// memory limit (see Duties).
	Duties Duties

	Home string // the store's folder, for default log paths; db.Dir() when ""
	// StopTimeout is how long a stop waits after SIGTERM, for replacing a
	// running process and stored for the record's later stops; a restart
	// keeps the stored one when zero.
	StopTimeout time.Duration

	// Event is the history event of a start that goes well: start for a
	// new record, restart for one that ran, unless set (the guard's
	// guard_restart). Reason says why a supervisor restarts it.
	Event  store.EventKind `json:",omitempty"`
	Reason string          `json:",omitempty"`
	// Expect is what the record must still say for the start to go ahead:
	// the guard's try of what it saw, an up's start while no down of its
	// stack came.
	Expect store.Cond
}

// ErrRunning is returned when a start would replace a running process
// without being told to (Options.Force): a conflict.
var ErrRunning = store.Errorf(store.KindConflict, "already running")

// StartupError is a start whose process ended within its startup window.
type StartupError struct {
	Name       string
	Code       int
	Signal     string
	Window     time.Duration
	StderrTail string
	StderrPath string
}

// ErrorKind makes a failed start an error of kind store.KindFailedStart.
func (e *StartupError) ErrorKind() store.Kind { return store.KindFailedStart }

func (e *StartupError) Error() string {
	msg := fmt.Sprintf("%s exited during startup (%s, within %v)", e.Name, e.how(), e.Window)
	if e.StderrTail != "" {
		msg += "; last lines of " + e.StderrPath + ":\n" + e.StderrTail
	}
	return msg
}

func (e *StartupError) how() string {
	switch {
	case e.Signal != "":
		return "signal " + e.Signal
	case e.Code == -1:
		return "exit status unknown" // its leader was adopted
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// GuardRetryError is a failed start of a guarded process: the guard tries
// again after Delay. Cause is the start's own error.
type GuardRetryError struct {
	Name     string
	Delay    time.Duration
	Startup  *StartupError  `json:",omitempty"`
	NotReady *NotReadyError `json:",omitempty"`
}

func (e *GuardRetryError) cause() error {
	if e.NotReady != nil {
		return e.NotReady
	}
	return e.Startup
}

func (e *GuardRetryError) Error() string {
	return fmt.Sprintf("%s\nThe guard tries again in %v (see: bgrun %s).", e.cause().Error(), e.Delay, e.Name)
}

func (e *GuardRetryError) Unwrap() error { return e.cause() }

// ErrorKind makes it a failed start.
func (e *GuardRetryError) ErrorKind() store.Kind { return store.KindFailedStart }

// lost is the error of a start whose record changed while it started: it
// was stopped (the stop won), deleted, or another start replaced it; what
// the start spawned ended.
func lost(db *store.DB, name string) error {
	why := "stopped"
	switch r, err := db.Get(name); {
	case errors.Is(err, store.ErrNotFound):
		why = "deleted"
	case err == nil && r.Status != store.StatusStopped:
		why = "replaced by another start"
	}
	return store.Errorf(store.KindConflict, "%s was %s while it started", name, why)
}

// Result says what a start did.
type Result struct {
	Record   store.Record
	Replaced bool     // a running process was stopped first
	Ports    []int    // what it listened on when its startup window ended early
	Loaded   []string // config and env files that were read
	// Leader is the started process, for the supervisor to follow; nil
	// across the socket.
	Leader *Leader `json:"-"`
}

// Start is the one start pipeline: it starts o.Name, or restarts it, and
// is run by the store's supervisor only, which stays the parent of what it
// spawns (commands ask it with ask). Under the name's lock it merges o over
// the stored record, ends what runs when replacing it, writes the record as
// starting with a new marker (store.DB.Begin), spawns and records the
// process; then, the lock released so that a stop wins at once, it waits
// out the startup window and the readiness check, and records the outcome
// (store.DB.Started, StartFailed). A failed start keeps its record, failed
// (or restarting, under its guard). out receives progress lines (nil for
// none).
func Start(ctx context.Context, db *store.DB, o Options, out io.Writer) (Result, error) {
	var res Result
	say := func(format string, a ...any) {
		if out != nil {
			fmt.Fprintf(out, format+"\n", a...)
		}
	}
	if err := store.ValidateName(o.Name); err != nil {
		return res, err
	}
	for _, kv := range o.Set {
		if err := CheckSet(kv); err != nil {
			return res, err
		}
	}
	unlock, err := db.Lock(o.Name)
	if err != nil {
		return res, err
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	old, err := db.Get(o.Name)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	if (o.Restart || len(o.Expect.Status) > 0) && !exists {
		return res, err
	}
	if exists && !o.Expect.Holds(old) {
		return res, store.ErrChanged
	}
	if o.Home == "" {
		o.Home = db.Dir()
	}
	rec, err := prepare(old, exists, &o)
	if err != nil {
		return res, err
	}
	self := ps.Self()
	rec.SupervisorPID, rec.SupervisorTicks = self.PID, self.Ticks
	if err := checkLogs(db, rec, old, exists); err != nil {
		return res, err
	}
	running := false
	if exists {
		procs, err := ps.Inspect(ctx, []store.Record{old}, ps.Options{})
		if err != nil {
			return res, err
		}
		running = procs[0].Running || len(procs[0].PIDs) > 0
	}
	if running && !o.Force && !o.Restart {
		return res, fmt.Errorf("process %q is %w (pid %d)", o.Name, ErrRunning, old.PID)
	}
	env, loaded, err := Environment(&rec)
	if err != nil {
		return res, err
	}
	res.Loaded = loaded
	if running {
		// Starting, with the old marker, while its tree ends: the end of
		// the old leader is then no end of the record, and were the
		// supervisor killed meanwhile, the next finds the old tree by it.
		sopt := stop.Options{Timeout: o.StopTimeout, Out: out}.For(old)
		if _, err := db.Replacing(o.Name, old.Instance, self, time.Now().Add(sopt.Timeout)); err != nil {
			return res, err
		}
		if _, err := stop.Replace(ctx, old, sopt); err != nil {
			return res, fmt.Errorf("replace %q: %w", o.Name, err)
		}
		res.Replaced = true
		say("Stopped the running %s (pid %d).", o.Name, old.PID)
	} else if exists {
		// A stopped container of this record would block `docker run --name`.
		if err := stop.RemoveContainer(ctx, old, stop.Options{Out: out}); err != nil {
			return res, err
		}
	}
	warnDeclaredPort(ctx, env, say)
	if err := claimLogs(&rec, old, exists); err != nil {
		return res, err
	}
	cond := o.Expect
	if running {
		cond.Marker, cond.Status = old.Instance, nil // as Replacing left it
	}
	if err := db.Begin(&rec, cond); err != nil {
		if errors.Is(err, store.ErrChanged) && running {
			return res, lost(db, o.Name)
		}
		return res, err
	}
	marker := rec.Instance
	if b, ok := out.(interface{ Began(marker string) }); ok {
		b.Began(marker) // its caller can ask how it went, should the supervisor die
	}
	cmd, err := Launch(&rec, env)
	if err != nil {
		db.StartFailed(o.Name, marker, store.Exit{Code: -1, Known: true}, err.Error(), store.Detail{Error: err.Error()}, o.bySupervisor())
		return res, err
	}
	leader := follow(cmd, &rec)
	if _, err := db.Spawned(o.Name, marker, func(r *store.Record) { spawnedAs(r, rec) }); err != nil {
		// Stopped, deleted or started anew meanwhile: this start must not run.
		stop.TreeOf(ps.OwnerOf(rec), stop.TimeoutOf(rec))
		<-leader.Done()
		return res, lost(db, o.Name)
	}
	unlock()
	locked = false
	event := o.Event
	if event == "" {
		event = store.EventStart
		if exists && old.EverRan {
			event = store.EventRestart
		}
	}
	jres, err := judge(ctx, db, rec, leader, env, event, o.Reason, o.bySupervisor())
	jres.Replaced, jres.Loaded = res.Replaced, res.Loaded
	return jres, err
}

// judge waits out the startup window of the start rec, whose leader l
// runs, and its readiness check, and records the outcome (event ev with
// reason on success; counted: a restart of bgrun's own). A start whose
// context ends meanwhile (its supervisor is giving up its store) is ended
// and failed. Start and Resume end with it.
func judge(ctx context.Context, db *store.DB, rec store.Record, l *Leader, env []string, ev store.EventKind,
	reason string, counted bool) (Result, error) {
	ports, serr := waitListening(ctx, l, &rec, window(rec))
	if serr == nil && rec.Ready != "" {
		serr = waitReady(ctx, l, &rec, env)
	}
	if serr != nil {
		return Result{}, failStart(db, &rec, rec.Instance, serr, counted)
	}
	detail := startDetail(rec)
	detail.Reason = reason
	r, err := db.Started(rec.Name, rec.Instance, ev, detail, counted)
	if err != nil {
		if errors.Is(err, store.ErrChanged) || errors.Is(err, store.ErrNotFound) {
			return Result{}, lost(db, rec.Name)
		}
		return Result{}, err
	}
	return Result{Record: r, Ports: ports, Leader: l}, nil
}

// Resume finishes a start that a supervisor killed during it was making
// (see store.DB.Begin): rec's process, found by its marker, runs, led by l
// (adopted: its exit status cannot be collected). It records the process,
// then waits out what is left of its startup window and its readiness
// check, as Start would have, and records the outcome.
func Resume(ctx context.Context, db *store.DB, rec store.Record, l *Leader) (Result, error) {
	self := ps.Self()
	if rec.StartedAt.IsZero() {
		rec.StartedAt = time.Now() // killed before it wrote the spawn: it was just now
	}
	rec.PID, rec.StartTicks, rec.SupervisorPID, rec.SupervisorTicks = l.PID, l.Ticks, self.PID, self.Ticks
	if rec.PGID == 0 {
		rec.PGID = l.PID
	}
	if _, err := db.Spawned(rec.Name, rec.Instance, func(r *store.Record) { spawnedAs(r, rec) }); err != nil {
		return Result{}, lost(db, rec.Name)
	}
	env, _, err := Environment(&rec)
	if err != nil {
		env = nil // its cmd: check runs with what it has; the start goes on
	}
	ev := store.EventStart
	if rec.EverRan {
		ev = store.EventRestart
	}
	return judge(ctx, db, rec, l, env, ev, "finished by a new supervisor: the one that made it was killed", false)
}

// spawnedAs copies what a spawn learnt of the process (spawn) into r.
func spawnedAs(r *store.Record, rec store.Record) {
	r.PID, r.PGID, r.StartTicks, r.StartedAt, r.Leader = rec.PID, rec.PGID, rec.StartTicks, rec.StartedAt, rec.Leader
	r.StderrOffset, r.SupervisorPID, r.SupervisorTicks = rec.StderrOffset, rec.SupervisorPID, rec.SupervisorTicks
}

// failStart records a start that failed in its window or its readiness
// wait (serr), and returns the error its caller sees: serr itself, the
// guard's next try, or that a stop came first.
func failStart(db *store.DB, rec *store.Record, marker string, serr error, counted bool) error {
	var se *StartupError
	var nr *NotReadyError
	// A code of -1 without a signal is an adopted leader's: not collected.
	e := store.Exit{Code: rec.ExitCode, Signal: rec.ExitSignal, Known: rec.ExitCode != -1 || rec.ExitSignal != "", At: rec.ExitedAt}
	d := startDetail(*rec)
	reason := serr.Error()
	switch {
	case errors.As(serr, &se):
		d.Code, d.Signal, d.Stderr = &se.Code, se.Signal, se.StderrTail
		reason = se.how() + " during startup"
	case errors.As(serr, &nr):
		d.NotReady, d.Error, d.Check, d.Ended = nr.Error(), nr.Last, nr.Spec, nr.Ended
		reason = "not ready: " + nr.Last
		if nr.Ended {
			reason = "ended before it was ready: " + nr.Last
		}
		e = store.Exit{Code: -1, Known: false, At: time.Now()}
		if nr.Ended {
			e = store.Exit{Code: rec.ExitCode, Signal: rec.ExitSignal, Known: rec.ExitedAt.After(rec.StartedAt), At: time.Now()}
		}
	default:
		d.Error = serr.Error()
	}
	r, err := db.StartFailed(rec.Name, marker, e, reason, d, counted)
	switch {
	case errors.Is(err, store.ErrChanged), errors.Is(err, store.ErrNotFound):
		return lost(db, rec.Name)
	case err != nil:
		return err
	case r.Status == store.StatusRestarting:
		return &GuardRetryError{Name: r.Name, Delay: r.Backoff, Startup: se, NotReady: nr}
	}
	return serr
}

// GraceFromEnv reads the startup window from BGR_STARTUP_HEALTH_GRACE_MS,
// the original's variable, in milliseconds: defaultGrace when unset, and a
// negative duration (no window) for 0.
func GraceFromEnv() (time.Duration, error) {
	v := os.Getenv("BGR_STARTUP_HEALTH_GRACE_MS")
	if v == "" {
		return defaultGrace, nil
	}
	ms, err := strconv.Atoi(v)
	if err != nil || ms < 0 {
		return 0, fmt.Errorf("BGR_STARTUP_HEALTH_GRACE_MS=%q: want milliseconds", v)
	}
	if ms == 0 {
		return -1, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func (o *Options) grace() time.Duration {
	if o.Grace == 0 {
		return defaultGrace
	}
	return max(o.Grace, 0)
}

// bySupervisor reports whether the start is one the supervisor makes of its
// own (the guard's try, the watcher's or a duty's restart), which Restarts
// counts, rather than one by hand.
func (o *Options) bySupervisor() bool { return o.Event == store.EventGuardRestart || o.Reason != "" }

// window is the startup window of rec's start.
func window(rec store.Record) time.Duration { return rec.Window(defaultGrace) }

// prepare merges the options over the stored record into the record to
// start.
func prepare(old store.Record, exists bool, o *Options) (store.Record, error) {
	rec := store.Record{Name: o.Name}
	switch {
	case exists && o.bySupervisor():
		rec = old // the guard's try keeps its crash count and last exit
	case exists:
		rec = old
		rec.ExitCode, rec.ExitSignal, rec.ExitedAt = 0, "", time.Time{}
		// A start by hand begins the guard's count anew.
		rec.Crashes, rec.GaveUp, rec.Restarts = 0, false, 0
	}
	rec.FailReason = ""
	if o.Command != "" {
		// A container started without --name gets a label naming the
		// record, so bgrun can always find it.
		rec.Command = docker.Label(o.Command, o.Name)
	}
	if rec.Command == "" {
		return rec, store.Errorf(store.KindNotFound, "no process named %q, and no command to start it with", o.Name)
	}
	if o.Dir != "" || !exists {
		dir := o.Dir
		if dir == "" {
			dir = "."
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return rec, fmt.Errorf("directory %s: %w", dir, err)
		}
		rec.Dir = abs
	}
	if err := CheckDir(rec.Dir); err != nil {
		return rec, err
	}
	if o.Env != nil {
		rec.Env = cleanCallerEnv(o.Env)
		rec.Parent = ""
		if p := lookup(o.Env, "BGR_PROCESS_NAME"); p != "" && p != o.Name {
			rec.Parent = p
		}
	}
	if o.Set != nil {
		rec.Set = o.Set
	}
	if o.NoConfig {
		rec.NoConfig, rec.ConfigPath = true, ""
	} else if o.Config != "" {
		rec.NoConfig, rec.ConfigPath = false, o.Config
	}
	if o.EnvFiles != nil {
		rec.EnvFiles = o.EnvFiles
	}
	if o.Command != "" && !o.Restart {
		rec.Watch, rec.Guard, rec.WatchIgnore, rec.MaxRestarts = o.Watch, o.Guard, o.Ignore, o.MaxRestarts
	} else {
		rec.Watch, rec.Guard = rec.Watch || o.Watch, rec.Guard || o.Guard
		if o.Ignore != nil {
			rec.WatchIgnore = o.Ignore
		}
		if o.MaxRestarts != 0 {
			rec.MaxRestarts = o.MaxRestarts
		}
	}
	// The supervisor gives its restarts the window and stop timeout of
	// this start.
	if o.Grace != 0 || !exists {
		if rec.StartWindow = o.grace(); rec.StartWindow == 0 {
			rec.StartWindow = -1
		}
	}
	if o.StopTimeout > 0 {
		rec.StopTimeout = o.StopTimeout
	}
	if err := o.Duties.apply(&rec, o.Command != "" && !o.Restart); err != nil {
		return rec, err
	}
	var err error
	if rec.StdoutPath, err = logPath(o.Stdout, o.LogsDir, rec.StdoutPath, o, "out"); err != nil {
		return rec, err
	}
	if rec.StderrPath, err = logPath(o.Stderr, o.LogsDir, rec.StderrPath, o, "err"); err != nil {
		return rec, err
	}
	return rec, nil
}

// logPath picks a log file: the explicit path, else the logs folder, else the
// stored path, else NAME-out.txt in the store's folder.
func logPath(explicit, dir, stored string, o *Options, kind string) (string, error) {
	p := explicit
	switch {
	case p != "":
	case dir != "":
		p = filepath.Join(dir, o.Name+"-"+kind+".txt")
	case stored != "":
		p = stored
	default:
		p = store.LogPath(o.Home, o.Name, kind)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("log path %s: %w", p, err)
	}
	return abs, nil
}

// internalVars are set by bgrun for each process and never inherited.
var internalVars = []string{"BGR_PROCESS_NAME", "BGR_PARENT_NAME", "BGRUN_PARENT_NAME", "BGR_SUPERVISE", ps.MarkerVar}

func cleanCallerEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "" || slicesContains(internalVars, k) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func slicesContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func lookup(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// Environment builds the environment of rec's process, in order of
// precedence from low to high: the caller's environment captured at start,
// the TOML config, the .env files, the variables given explicitly, and
// bgrun's own BGR_PROCESS_NAME / BGR_PARENT_NAME. Config and .env files are
// read anew on every start, so an edit takes effect and a removed key is
// gone. It also sets rec.Group from BGR_GROUP. It returns the files read.
func Environment(rec *store.Record) (env, loaded []string, err error) {
	layers := [][]EnvVar{EnvFromList(rec.Env)}
	if !rec.NoConfig {
		path, explicit := rec.ConfigPath, true
		if path == "" {
			path, explicit = defaultConfig, false
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(rec.Dir, path)
		}
		vars, err := loadConfig(path)
		switch {
		case err == nil:
			layers = append(layers, vars)
			loaded = append(loaded, path)
		case errors.Is(err, os.ErrNotExist) && !explicit:
		case errors.Is(err, os.ErrNotExist):
			return nil, nil, fmt.Errorf("config file %s does not exist", path)
		default:
			return nil, nil, err
		}
	}
	for _, f := range rec.EnvFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(rec.Dir, f)
		}
		vars, err := loadDotenv(f)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("env file %s does not exist", f)
		}
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, vars)
		loaded = append(loaded, f)
	}
	ids := []EnvVar{{Key: "BGR_PROCESS_NAME", Value: rec.Name}}
	if rec.Parent != "" {
		ids = append(ids, EnvVar{Key: "BGR_PARENT_NAME", Value: rec.Parent})
	}
	layers = append(layers, EnvFromList(rec.Set), ids)
	merged := mergeEnv(layers...)
	rec.Group, _ = LookupEnvVar(merged, "BGR_GROUP")
	return envList(merged), loaded, nil
}

// spawn spawns rec's command detached, in a session of its own, with its
// output appended to the log files and rec's marker (ps.MarkerVar) in its
// environment, and fills in rec's pid, process group, start time, leader
// and stderr offset. A simple command is exec'd, so its pid is the
// program's. env comes from Environment; the marker from store.DB.Begin.
// The caller owns the returned command: follow collects it.
func Launch(rec *store.Record, env []string) (*exec.Cmd, error) {
	outf, err := openLog(rec.StdoutPath)
	if err != nil {
		return nil, err
	}
	defer outf.Close()
	errf := outf
	if rec.StderrPath != rec.StdoutPath {
		if errf, err = openLog(rec.StderrPath); err != nil {
			return nil, err
		}
		defer errf.Close()
	}
	rec.StdoutSize, rec.StderrSize = fileSize(outf), fileSize(errf)
	rec.StderrOffset = rec.StderrSize
	cmd, leader := shellCommand(rec.Command)
	cmd.Dir = rec.Dir
	cmd.Env = withMarker(env, rec.Instance)
	cmd.Stdout, cmd.Stderr = outf, errf
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %q: %w", rec.Name, err)
	}
	rec.PID = cmd.Process.Pid
	rec.PGID = rec.PID
	if p, ok := ps.Read(rec.PID); ok {
		rec.StartTicks = p.StartTicks
	}
	rec.Leader = leader
	rec.StartedAt = time.Now()
	rec.ExitCode, rec.ExitSignal, rec.ExitedAt = 0, "", time.Time{}
	return cmd, nil
}

// openLog opens a log for appending; one that bgrun creates is 0600.
func openLog(path string) (*os.File, error) {
	f, _, err := createLog(path)
	return f, err
}

// warnDeclaredPort says so when the environment declares a PORT that another
// process already listens on: the start goes ahead (the program may pick
// another port), but the user learns who holds it.
func warnDeclaredPort(ctx context.Context, env []string, say func(string, ...any)) {
	port, err := strconv.Atoi(lookup(env, "PORT"))
	if err != nil || port <= 0 {
		return
	}
	busy, holders, err := stop.HoldersOf(ctx, port)
	if err != nil || !busy {
		return
	}
	who := "a process bgrun cannot see"
	if len(holders) > 0 {
		who = fmt.Sprintf("pid %d", holders[0].PID)
		if holders[0].Command != "" {
			who += " (" + holders[0].Command + ")"
		}
	}
	say("Warning: PORT=%d is already in use by %s.", port, who)
}

// gitPull updates the working directory with `git pull --ff-only`.
func gitPull(ctx context.Context, dir string, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "pull", "--ff-only")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("git pull in %s failed: %s", dir, strings.Join(strings.Fields(msg), " "))
	}
	fmt.Fprintf(w, "git pull: %s\n", strings.TrimSpace(lastLine(out.String())))
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
