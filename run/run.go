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

// DefaultGrace is the startup window: a process that ends within it is a
// failed start.
const DefaultGrace = 500 * time.Millisecond

// DefaultConfig is the config file loaded from the working directory when no
// --config is given.
const DefaultConfig = ".config.toml"

// Options describe a start. Empty fields fall back to the stored record on a
// restart, then to the defaults.
type Options struct {
	Name    string
	Command string
	Dir     string // working directory; the caller's by default
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
	// Fetch runs `git pull --ff-only` in Dir before starting.
	Fetch bool
	Grace time.Duration // startup window; DefaultGrace when zero, none when negative

	// Watch and Guard hand the process to a supervisor (package watch):
	// restart on file changes, restart on crash. An explicit start (with a
	// command) sets them as given; a restart keeps the stored ones and adds
	// what is given.
	Watch, Guard bool
	Ignore       []string // extra watch ignore patterns
	MaxRestarts  int      // guard: give up after this many restarts in a row
	// Duties are log rotation, the readiness check, health checks and the
	// memory limit (see Duties).
	Duties Duties
	// Spawn starts a supervised record (Watch or Guard) through its
	// supervisor instead of directly. It is given the record, saved with
	// status starting, and returns once the supervisor has started the child
	// (or failed to), with rec as the supervisor wrote it. Nil starts every
	// record directly.
	Spawn func(db *store.DB, rec *store.Record) error

	Home        string        // the store's folder, for default log paths; db.Dir() when ""
	StopTimeout time.Duration // for replacing a running process
	// Snapshots shares process snapshots among the stops of one bulk
	// restart (see stop.Options); nil for a restart of its own.
	Snapshots *ps.Shared
	Out       io.Writer // progress lines; nil for none
}

func (o *Options) say(format string, a ...any) {
	if o.Out != nil {
		fmt.Fprintf(o.Out, format+"\n", a...)
	}
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
	how := fmt.Sprintf("exit status %d", e.Code)
	if e.Signal != "" {
		how = "signal " + e.Signal
	}
	msg := fmt.Sprintf("%s exited during startup (%s, within %v)", e.Name, how, e.Window)
	if e.StderrTail != "" {
		msg += "; last lines of " + e.StderrPath + ":\n" + e.StderrTail
	}
	return msg
}

// Result says what a start did.
type Result struct {
	Record   store.Record
	Replaced bool     // a running process was stopped first
	Ports    []int    // what it listened on when its startup window ended early
	Loaded   []string // config and env files that were read
}

// Start starts o.Name, or restarts it with o.Restart, holding the name's
// lock throughout. The record is written as starting, with the start's
// marker, before the process is spawned, and whatever happens after: a
// failed start is kept, marked failed, with its exit status.
func Start(ctx context.Context, db *store.DB, o Options) (Result, error) {
	var res Result
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
	defer unlock()
	old, err := db.Get(o.Name)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	if o.Restart && !exists {
		return res, err
	}
	if o.Home == "" {
		o.Home = db.Dir()
	}
	if exists && old.Status == store.StatusStarting {
		// An interrupted start: finish it (or fail it) before deciding.
		if t, err := ps.Snapshot(); err == nil {
			if old, err = ps.Settle(db, old, t); err != nil {
				return res, err
			}
		}
	}
	rec, err := prepare(old, exists, &o)
	if err != nil {
		return res, err
	}
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
	if o.Fetch {
		if err := gitPull(ctx, rec.Dir, &o); err != nil {
			return res, err
		}
	}
	env, loaded, err := Environment(&rec)
	if err != nil {
		return res, err
	}
	res.Loaded = loaded
	if exists && (old.Guard || old.Watch) {
		// Out of the supervisor's hands first, or it would restart what we
		// stop. It may have started the process again since old was read
		// (the guard, a watched change): what runs is looked at anew.
		if old, err = stop.Unsupervise(db, o.Name); err != nil {
			return res, err
		}
		procs, err := ps.Inspect(ctx, []store.Record{old}, ps.Options{})
		if err != nil {
			return res, err
		}
		running = procs[0].Running || len(procs[0].PIDs) > 0
	}
	if running {
		if _, err := stop.Replace(ctx, old, stop.Options{Timeout: o.StopTimeout, Out: o.Out, Snapshots: o.Snapshots}); err != nil {
			return res, fmt.Errorf("replace %q: %w", o.Name, err)
		}
		res.Replaced = true
		o.say("Stopped the running %s (pid %d).", o.Name, old.PID)
	}
	if exists && !running {
		// A stopped container of this record would block `docker run --name`.
		if err := stop.RemoveContainer(ctx, old, stop.Options{Out: o.Out}); err != nil {
			return res, err
		}
	}
	warnDeclaredPort(ctx, env, &o)
	if err := claimLogs(&rec, old, exists); err != nil {
		return res, err
	}
	res.Record = rec
	if (rec.Watch || rec.Guard) && o.Spawn != nil {
		rec.Status, rec.PID, rec.StartTicks, rec.SupervisorPID = store.StatusStarting, 0, 0, 0
		rec.Restarts, rec.GaveUp, rec.Backoff, rec.Wanted = 0, false, "", true
		// No marker until the supervisor's: a process found by marker is
		// then always one this start spawned (see the supervisor's adopt).
		rec.Instance = ""
		if err := db.Put(&rec); err != nil {
			return res, err
		}
		err := o.Spawn(db, &rec)
		res.Record = rec
		return res, err
	}
	if err := markStarting(db, &rec); err != nil {
		return res, err
	}
	cmd, err := Launch(&rec, env)
	if err != nil {
		rec.Status = store.StatusFailed
		if perr := db.Put(&rec); perr != nil {
			return res, perr
		}
		return res, err
	}
	event := store.EventStart
	if exists {
		event = store.EventRestart
	}
	// Starting until its window (and readiness check) passed: were this
	// bgrun killed meanwhile, the next command settles the start (running,
	// or failed) and the history says so. The pid is recorded before the
	// window; were this write lost, the next bgrun would still find the
	// process by its marker.
	rec.Status = store.StatusStarting
	if err := db.Put(&rec); err != nil {
		stop.TreeOf(ps.OwnerOf(rec), time.Second) // unrecorded, it must not run on
		cmd.Wait()
		return res, err
	}
	var serr error
	res.Ports, serr = WaitListening(Follow(cmd, &rec), &rec, o.grace())
	if serr == nil {
		serr = AwaitReady(context.Background(), db, &rec, env) // a judged start, never cut short
	}
	if serr != nil {
		event = store.EventFailed
	} else if rec.Status == store.StatusStarting {
		rec.Status = store.StatusRunning
	}
	if err := db.Put(&rec); err != nil {
		return res, err
	}
	detail := StartDetail(rec)
	if serr != nil {
		detail["code"], detail["signal"] = rec.ExitCode, rec.ExitSignal
	}
	if err := db.AddEvent(store.Event{Name: rec.Name, Event: event, PID: rec.PID, Detail: detail}); err != nil {
		return res, err
	}
	res.Record = rec
	if serr == nil && AfterStart != nil {
		AfterStart(db)
	}
	return res, serr
}

// GraceFromEnv reads the startup window from BGR_STARTUP_HEALTH_GRACE_MS,
// the original's variable, in milliseconds: DefaultGrace when unset, and a
// negative duration (no window) for 0.
func GraceFromEnv() (time.Duration, error) {
	v := os.Getenv("BGR_STARTUP_HEALTH_GRACE_MS")
	if v == "" {
		return DefaultGrace, nil
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
		return DefaultGrace
	}
	return max(o.Grace, 0)
}

// prepare merges the options over the stored record into the record to
// start.
func prepare(old store.Record, exists bool, o *Options) (store.Record, error) {
	rec := store.Record{Name: o.Name}
	if exists {
		rec = old
		rec.ExitCode, rec.ExitSignal, rec.ExitedAt = 0, "", time.Time{}
	}
	rec.Wanted = true
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
	// The supervisor gives the guard's restarts the window of this start.
	if rec.StartWindow = o.grace(); rec.StartWindow == 0 {
		rec.StartWindow = -1
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
			path, explicit = DefaultConfig, false
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(rec.Dir, path)
		}
		vars, err := LoadConfig(path)
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
		vars, err := LoadDotenv(f)
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
	merged := MergeEnv(layers...)
	rec.Group, _ = LookupEnvVar(merged, "BGR_GROUP")
	return EnvList(merged), loaded, nil
}

// Launch spawns rec's command detached, in a session of its own, with its
// output appended to the log files and rec's marker (ps.MarkerVar) in its
// environment, and fills in rec's pid, process group, start time, leader,
// stderr offset and status. A simple command is exec'd, so its pid is the
// program's. env comes from Environment; a rec without a marker gets a new
// one (the caller records it: see markStarting). The
// caller owns the returned command: it must Wait for it or Release it.
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
	rec.Wanted = true
	if rec.Instance == "" {
		rec.Instance = NewInstance(rec.ID)
	}
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
	rec.Status = store.StatusRunning
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
func warnDeclaredPort(ctx context.Context, env []string, o *Options) {
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
	o.say("Warning: PORT=%d is already in use by %s.", port, who)
}

// gitPull updates the working directory with `git pull --ff-only`.
func gitPull(ctx context.Context, dir string, o *Options) error {
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
	o.say("git pull: %s", strings.TrimSpace(lastLine(out.String())))
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
