// Command bgrun starts, lists, watches, stops and restarts named background
// processes on one machine. It is also installed as bgr.
//
// This file holds the one command-line parser: it maps the original bgrun's
// flag forms (`bgrun --name api --command "..."`, `bgrun --stop api`,
// `bgrun api --logs --lines 50`) and the subcommands (`bgrun ps --json`,
// `bgrun logs api -f`) onto the packages, and errors onto exit codes:
// 0 ok, 1 failure, 2 usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"bgrun/dash"
	"bgrun/docker"
	"bgrun/logs"
	"bgrun/ps"
	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
	"bgrun/watch"
)

// version is bgrun's version; release builds may set it with -ldflags.
var version = "0.1.0"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitError carries an exit status without a message of its own (the
// message, if any, was printed already).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs bgrun with args and returns its exit status. Every error is
// printed here, once, as one line (a failed start adds the tail of the
// process's stderr below it).
func Main(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "bgrun: internal error: %v\n", r)
			code = 1
		}
	}()
	err := dispatch(args, stdout, stderr)
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "bgrun: %s\nRun 'bgrun --help' for usage.\n", ue.msg)
		return 2
	}
	fmt.Fprintf(stderr, "bgrun: %s\n", err)
	return 1
}

// flagKind says whether a flag takes a value.
type flagKind int

const (
	boolFlag flagKind = iota
	valueFlag
	listFlag // a value, repeatable
)

// flags lists every flag; short aliases follow the original where they do
// not clash with Unix habit (-h is help here, not --hot).
var flags = map[string]flagKind{
	"name": valueFlag, "command": valueFlag, "directory": valueFlag, "config": valueFlag,
	"stdout": valueFlag, "stderr": valueFlag, "db": valueFlag, "lines": valueFlag, "filter": valueFlag,
	"logs-dir": valueFlag, "kill-port": valueFlag, "port": valueFlag, "shell": valueFlag,
	"timeout": valueFlag, "host": valueFlag, "token": valueFlag, "max-restarts": valueFlag,
	"env-file": listFlag, "set": listFlag, "ignore": listFlag,
	"force": boolFlag, "fetch": boolFlag, "watch": boolFlag, "hot": boolFlag, "json": boolFlag,
	"logs": boolFlag, "log-stdout": boolFlag, "log-stderr": boolFlag, "stop": boolFlag,
	"restart": boolFlag, "delete": boolFlag, "clean": boolFlag, "nuke": boolFlag,
	"stop-all": boolFlag, "restart-all": boolFlag, "version": boolFlag, "help": boolFlag,
	"no-config": boolFlag, "env": boolFlag, "dashboard": boolFlag, "guard": boolFlag,
	"guard-off": boolFlag, "follow": boolFlag, "all": boolFlag, "debug": boolFlag,
	"_supervise": valueFlag, "_serve": boolFlag,
	"log-max-size": valueFlag, "log-keep": valueFlag, "ready": valueFlag, "ready-timeout": valueFlag,
	"health-interval": valueFlag, "max-memory": valueFlag,
}

// nameFlags are actions on one process whose name may follow them as a
// value (--stop=api) as well as an argument (--stop api, api --stop).
var nameFlags = map[string]bool{"stop": true, "restart": true, "delete": true, "logs": true,
	"guard": true, "guard-off": true}

var shortFlags = map[string]string{
	"n": "name", "c": "command", "d": "directory", "f": "force", "w": "watch", "j": "json",
	"l": "logs", "v": "version", "h": "help",
}

// cmdline is a parsed command line.
type cmdline struct {
	vals  map[string]string
	lists map[string][]string
	bools map[string]bool
	pos   []string // positional arguments
	rest  []string // everything after "--"
	dash  bool     // a "--" was given
}

func (c *cmdline) has(name string) bool {
	_, v := c.vals[name]
	return v || c.bools[name] || len(c.lists[name]) > 0
}

// parse reads args against the flag table. Values come as --flag value or
// --flag=value; a value flag at the end, or followed by another flag, is a
// usage error rather than a silent "true". short and kinds override the
// short aliases and flag kinds for one subcommand (in `bgrun logs`, -f means
// --follow).
func parse(args []string, short map[string]string, kinds map[string]flagKind) (*cmdline, error) {
	c := &cmdline{vals: map[string]string{}, lists: map[string][]string{}, bools: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.dash, c.rest = true, args[i+1:]
			break
		}
		if len(a) < 2 || a[0] != '-' {
			c.pos = append(c.pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "--") {
			long, ok := short[name]
			if !ok {
				long, ok = shortFlags[name]
			}
			if !ok {
				return nil, usagef("unknown flag %s", a)
			}
			name = long
		}
		kind, ok := kinds[name]
		if !ok {
			kind, ok = flags[name]
		}
		if !ok {
			return nil, usagef("unknown flag --%s", name)
		}
		if kind == boolFlag {
			if hasVal && nameFlags[name] {
				// --stop=api, as the README writes --stop <name>.
				c.bools[name] = true
				c.pos = append(c.pos, val)
				continue
			}
			if hasVal {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return nil, usagef("--%s takes no value (got %q)", name, val)
				}
				c.bools[name] = b
				continue
			}
			c.bools[name] = true
			continue
		}
		if !hasVal {
			if i+1 >= len(args) || isFlag(args[i+1]) {
				return nil, usagef("flag --%s needs a value", name)
			}
			i++
			val = args[i]
		}
		if kind == listFlag {
			// --ignore takes comma-separated patterns; --set and --env-file
			// values may hold commas, so they are one value each.
			if name == "ignore" {
				for _, v := range strings.Split(val, ",") {
					if v != "" {
						c.lists[name] = append(c.lists[name], v)
					}
				}
			} else {
				c.lists[name] = append(c.lists[name], val)
			}
			continue
		}
		if _, dup := c.vals[name]; dup {
			return nil, usagef("flag --%s given twice", name)
		}
		c.vals[name] = val
	}
	return c, nil
}

// isFlag reports whether a is one of bgrun's flags, so `--name --force`
// reads as a missing name rather than a process called "--force".
func isFlag(a string) bool {
	if !strings.HasPrefix(a, "-") || a == "-" {
		return false
	}
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	if strings.HasPrefix(a, "--") {
		_, ok := flags[name]
		return ok || a == "--"
	}
	_, ok := shortFlags[name]
	return ok
}

// commandName is the name bgrun was called by, for messages.
func commandName() string {
	n := filepath.Base(os.Args[0])
	if n == "bgr" {
		return n
	}
	return "bgrun"
}

// subcommands maps the subcommand words to their handlers. A process whose
// name is one of these words is shown with `bgrun show NAME`.
var subcommands = map[string]func(args []string, e *env) error{
	"ps": cmdList, "list": cmdList, "show": cmdShow, "logs": cmdLogs, "run": cmdRun, "start": cmdRun,
	"stop": cmdStop, "restart": cmdRestart, "delete": cmdDelete, "rm": cmdDelete, "clean": cmdClean,
	"nuke": cmdNuke, "version": cmdVersion, "help": cmdHelp, "ports": cmdPorts, "env": cmdEnv,
	"history": cmdHistory,
}

// env is what every command works with.
type env struct {
	c              *cmdline
	stdout, stderr io.Writer
	dbPath         string
	db             *store.DB
}

func (e *env) open() (*store.DB, error) {
	if e.db != nil {
		return e.db, nil
	}
	path := e.c.vals["db"]
	if path == "" {
		var err error
		if path, err = store.DefaultPath(); err != nil {
			return nil, err
		}
	}
	db, err := store.Open(path)
	if err != nil {
		return nil, err
	}
	e.db, e.dbPath = db, path
	return db, nil
}

func (e *env) close() {
	if e.db != nil {
		e.db.Close()
	}
}

func (e *env) style() ps.Style {
	st := ps.Style{Width: 120}
	f, ok := e.stdout.(*os.File)
	if !ok {
		return st
	}
	if w, tty := ps.TerminalWidth(f); tty {
		st.Width = w
		st.Color = os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	} else if cols, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && cols > 0 {
		st.Width = cols
	}
	return st
}

// lines reads --lines, a positive number, def when absent.
func (e *env) lines(def int) (int, error) {
	v, ok := e.c.vals["lines"]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, usagef("--lines wants a positive number, got %q", v)
	}
	return n, nil
}

func (e *env) say(format string, a ...any) { fmt.Fprintf(e.stdout, format+"\n", a...) }

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "inline" {
		return cmdInline(args[1:], stdout)
	}
	if len(args) > 0 {
		if sub, ok := subcommands[args[0]]; ok {
			short, kinds := map[string]string{}, map[string]flagKind{}
			if args[0] == "logs" {
				// In `bgrun logs`, -f follows and --stdout/--stderr pick a stream.
				short["f"] = "follow"
				kinds["stdout"], kinds["stderr"] = boolFlag, boolFlag
			}
			c, err := parse(args[1:], short, kinds)
			if err != nil {
				return err
			}
			e := &env{c: c, stdout: stdout, stderr: stderr}
			defer e.close()
			return sub(c.pos, e)
		}
	}
	c, err := parse(args, nil, nil)
	if err != nil {
		return err
	}
	e := &env{c: c, stdout: stdout, stderr: stderr}
	defer e.close()
	b := c.bools
	switch {
	case b["help"]:
		return cmdHelp(nil, e)
	case b["version"]:
		return cmdVersion(nil, e)
	case b["nuke"]:
		return cmdNuke(c.pos, e)
	case b["clean"]:
		return cmdClean(c.pos, e)
	case b["stop-all"]:
		return stopAll(e)
	case c.has("kill-port"):
		return killPort(e)
	case b["env"]:
		return cmdEnv(c.pos, e)
	case b["_serve"]:
		return serveDashboard(e)
	case c.has("_supervise"):
		return watch.Supervise(context.Background(), e.c.vals["db"], c.vals["_supervise"])
	case b["dashboard"]:
		return launchDashboard(e)
	case b["restart-all"]:
		return restartAll(e)
	}
	if c.dash {
		return startFromArgs(e)
	}
	name, named := c.vals["name"]
	if named && name == "" {
		return usagef("process name is empty")
	}
	if len(c.pos) > 0 {
		if name != "" {
			return usagef("unexpected argument %q (the name is already %q)", c.pos[0], name)
		}
		name = c.pos[0]
	}
	if len(c.pos) > 1 {
		return usagef("unexpected argument %q; to start a command give it with --command \"...\" or after --: bgrun -- %s",
			c.pos[1], strings.Join(c.pos, " "))
	}
	names := []string{}
	if name != "" {
		names = []string{name}
	}
	switch {
	case b["delete"]:
		return cmdDelete(names, e)
	case b["stop"]:
		return cmdStop(names, e)
	case b["restart"]:
		return cmdRestart(names, e)
	case b["logs"] || b["log-stdout"] || b["log-stderr"]:
		return cmdLogs(names, e)
	case (b["guard"] || b["guard-off"]) && !c.has("command") && !startFlagGiven(c):
		return guard(names, e)
	case c.has("command"):
		if name == "" {
			return usagef("--command needs --name (or start it as: bgrun -- CMD ARGS...)")
		}
		return start(e, run.Options{Name: name, Command: c.vals["command"]})
	case name != "" && startFlagGiven(c):
		return start(e, run.Options{Name: name})
	case name != "":
		return cmdShow(names, e)
	}
	return cmdList(nil, e)
}

// startFlagGiven reports whether the command line asks for a start even
// without --command (`bgrun --name api --force` restarts api as stored).
func startFlagGiven(c *cmdline) bool {
	for _, f := range []string{"force", "fetch", "directory", "config", "no-config", "env-file", "set",
		"stdout", "stderr", "logs-dir", "watch", "hot", "ignore", "max-restarts",
		"log-max-size", "log-keep", "ready", "ready-timeout", "health-interval", "max-memory"} {
		if c.has(f) {
			return true
		}
	}
	return false
}

// guard is `bgrun NAME --guard` and `bgrun NAME --guard-off`.
func guard(names []string, e *env) error {
	on := e.c.bools["guard"]
	if on && e.c.bools["guard-off"] {
		return usagef("--guard and --guard-off contradict each other")
	}
	flag := map[bool]string{true: "--guard", false: "--guard-off"}[on]
	if err := needName(names, flag); err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	res, err := watch.SetGuard(db, names[0], on)
	if err != nil {
		return err
	}
	switch {
	case on && res.Changed:
		e.say("Guard enabled for %s: it is restarted when it crashes.", names[0])
	case on && res.Attached:
		e.say("Guard is active for %s; a new supervisor is attached to it.", names[0])
	case on:
		e.say("Guard is already active for %s.", names[0])
	case res.Changed:
		e.say("Guard disabled for %s.", names[0])
	default:
		e.say("Guard is already off for %s.", names[0])
	}
	return nil
}

func cmdVersion(_ []string, e *env) error {
	e.say("bgrun version: %s", version)
	return nil
}

func cmdHelp(_ []string, e *env) error {
	fmt.Fprint(e.stdout, strings.ReplaceAll(helpText, "bgrun ", commandName()+" "))
	return nil
}

func needName(names []string, what string) error {
	if len(names) == 0 {
		return usagef("%s needs a process name, for example: bgrun %s api", what, strings.TrimPrefix(what, "--"))
	}
	for _, n := range names {
		if err := store.ValidateName(n); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

func cmdList(args []string, e *env) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q; to show one process: bgrun show %s", args[0], args[0])
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	if recs, err := db.List(); err == nil {
		e.rotateLogs(recs...)
	}
	procs, err := ps.List(db, ps.Options{Group: e.c.vals["filter"]})
	if err != nil {
		return err
	}
	if e.c.bools["json"] {
		return writeJSON(e.stdout, procs)
	}
	if len(procs) == 0 && e.c.vals["filter"] != "" {
		e.say("No processes in group %q.", e.c.vals["filter"])
		return nil
	}
	return ps.WriteTable(e.stdout, procs, e.style())
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdShow(names []string, e *env) error {
	if err := needName(names, "show"); err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	for _, n := range names {
		if r, err := db.Get(n); err == nil {
			e.rotateLogs(r)
		}
		p, err := ps.Get(db, n)
		if err != nil {
			return err
		}
		if e.c.bools["json"] {
			if err := writeJSON(e.stdout, p); err != nil {
				return err
			}
			continue
		}
		if err := ps.WriteDetails(e.stdout, p, e.style()); err != nil {
			return err
		}
	}
	return nil
}

func cmdLogs(names []string, e *env) error {
	if err := needName(names, "--logs"); err != nil {
		return err
	}
	if len(names) > 1 {
		return usagef("logs shows one process at a time")
	}
	n, err := e.lines(0)
	if err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	r, err := db.Get(names[0])
	if err != nil {
		return err
	}
	e.rotateLogs(r)
	c := e.c
	out := c.bools["log-stdout"] || c.bools["stdout"]
	errs := c.bools["log-stderr"] || c.bools["stderr"]
	if spec, ok := docker.Parse(r.Command); ok && spec.Detached && !c.bools["follow"] {
		// A detached container's output is in Docker, not in the client's
		// log files (which hold only the container id).
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var so, se io.Writer = e.stdout, e.stdout
		if out && !errs {
			se = io.Discard
		} else if errs && !out {
			so = io.Discard
		}
		return docker.Logs(ctx, ps.DockerRecord(r), n, so, se)
	}
	var srcs []logs.Source
	if out || !errs {
		srcs = append(srcs, logs.Source{Label: "stdout", Path: r.StdoutPath})
	}
	if errs || !out {
		srcs = append(srcs, logs.Source{Label: "stderr", Path: r.StderrPath})
	}
	if err := logs.Show(e.stdout, srcs, n); err != nil {
		return err
	}
	if !c.bools["follow"] {
		return nil
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	return logs.Follow(ctx, e.stdout, srcs)
}

func (e *env) stopOptions() (stop.Options, error) {
	t, err := stop.TimeoutFromEnv()
	if err != nil {
		return stop.Options{}, err
	}
	if v, ok := e.c.vals["timeout"]; ok {
		if t, err = time.ParseDuration(v); err != nil || t < 0 {
			return stop.Options{}, usagef("--timeout wants a duration such as 10s, got %q", v)
		}
	}
	return stop.Options{Timeout: t}, nil
}

func cmdStop(names []string, e *env) error {
	if e.c.bools["all"] {
		return stopAll(e)
	}
	if err := needName(names, "--stop"); err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	opt, err := e.stopOptions()
	if err != nil {
		return err
	}
	for _, n := range names {
		res, err := stop.Stop(db, n, opt)
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
		e.say("%s", msg)
	}
	return nil
}

func plural(n int, suffix string) string {
	if n == 1 {
		return ""
	}
	return suffix
}

// eachRecord runs fn on every record, reporting each failure on stderr and
// going on; it fails if any did.
func eachRecord(e *env, verb string, fn func(db *store.DB, r store.Record) error) error {
	db, err := e.open()
	if err != nil {
		return err
	}
	recs, err := db.List()
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		e.say("No processes registered.")
		return nil
	}
	failed := 0
	for _, r := range recs {
		if err := fn(db, r); err != nil && !errors.Is(err, store.ErrNotFound) {
			failed++
			fmt.Fprintf(e.stderr, "bgrun: %s %s: %v\n", verb, r.Name, err)
		}
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

func stopAll(e *env) error {
	opt, err := e.stopOptions()
	if err != nil {
		return err
	}
	return eachRecord(e, "stop", func(db *store.DB, r store.Record) error {
		res, err := stop.Stop(db, r.Name, opt)
		if err == nil && res.WasRunning {
			e.say("Stopped %s.", r.Name)
		}
		return err
	})
}

func restartAll(e *env) error {
	return eachRecord(e, "restart", func(_ *store.DB, r store.Record) error {
		return start(e, run.Options{Name: r.Name, Restart: true})
	})
}

func cmdRestart(names []string, e *env) error {
	if err := needName(names, "--restart"); err != nil {
		return err
	}
	for _, n := range names {
		if err := start(e, run.Options{Name: n, Restart: true}); err != nil {
			return err
		}
	}
	return nil
}

func cmdDelete(names []string, e *env) error {
	if err := needName(names, "--delete"); err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	opt, err := e.stopOptions()
	if err != nil {
		return err
	}
	for _, n := range names {
		res, err := stop.Delete(db, n, opt)
		if err != nil {
			return err
		}
		if res.WasRunning {
			e.say("Stopped and deleted %s.", n)
		} else {
			e.say("Deleted %s.", n)
		}
	}
	return nil
}

func cmdClean(args []string, e *env) error {
	if len(args) > 0 {
		return usagef("--clean takes no argument")
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	n, files, err := stop.Clean(db)
	if err != nil {
		return err
	}
	if n == 0 {
		e.say("No stopped processes to clean.")
		return nil
	}
	e.say("Cleaned %d stopped process%s and removed %d log file%s.", n, plural(n, "es"), files, plural(files, "s"))
	return nil
}

func cmdNuke(args []string, e *env) error {
	if len(args) > 0 {
		return usagef("--nuke takes no argument")
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	opt, err := e.stopOptions()
	if err != nil {
		return err
	}
	n, running, err := stop.Nuke(db, opt)
	if err != nil {
		return err
	}
	if n == 0 {
		e.say("There are no processes to delete.")
		return nil
	}
	e.say("Deleted %d process%s (%d were running).", n, plural(n, "es"), running)
	return nil
}

// cmdEnv is `bgrun --env [CONFIG] [--config PATH] [--directory D] [--shell S]`:
// print the config's variables as lines a shell can evaluate.
func cmdEnv(args []string, e *env) error {
	c := e.c
	if len(args) > 1 {
		return usagef("--env takes at most one config path, got %q", args[1])
	}
	config := c.vals["config"]
	if len(args) == 1 {
		if config != "" {
			return usagef("give the config either as an argument or with --config, not both")
		}
		config = args[0]
	}
	shell := c.vals["shell"]
	if shell == "" {
		shell = run.DefaultShell()
	}
	dir := c.vals["directory"]
	if dir == "" {
		dir = "."
	}
	if config == "" && !c.bools["no-config"] && len(c.lists["env-file"]) == 0 {
		if _, err := os.Stat(filepath.Join(dir, run.DefaultConfig)); err != nil {
			return fmt.Errorf("no %s in %s; name a config file with --config", run.DefaultConfig, dir)
		}
	}
	vars, _, err := run.ConfigEnv(dir, config, c.bools["no-config"], c.lists["env-file"])
	if err != nil {
		return err
	}
	out, err := run.RenderEnv(vars, shell)
	if errors.Is(err, run.ErrUnknownShell) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, out)
	return nil
}

// cmdInline is `bgrun inline [--directory D] [--config PATH] [--env-file F]
// [--] CMD ARGS...`: run a command in the foreground with the config's
// environment, and exit with its status. Options end at "--" or at the
// first argument that is not one of them, which starts the command.
func cmdInline(args []string, stdout io.Writer) error {
	i := 0
	for i < len(args) && args[i] != "--" && isFlag(args[i]) {
		name, _, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if flags[name] != boolFlag && !hasVal {
			i++
		}
		i++
	}
	c, err := parse(args[:min(i, len(args))], nil, nil)
	if err != nil {
		return err
	}
	for f := range c.vals {
		if f != "directory" && f != "config" {
			return usagef("inline takes --directory, --config, --env-file and --no-config, not --%s", f)
		}
	}
	if c.bools["help"] {
		fmt.Fprintln(stdout, "Usage: bgrun inline [--directory D] [--config PATH] [--env-file F] [--no-config] -- CMD ARGS...")
		return nil
	}
	argv := args[min(i, len(args)):]
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return usagef("inline needs a command: bgrun inline -- CMD [ARGS]")
	}
	dir := c.vals["directory"]
	if dir == "" {
		dir = "."
	}
	vars, _, err := run.ConfigEnv(dir, c.vals["config"], c.bools["no-config"], c.lists["env-file"])
	if err != nil {
		return err
	}
	code, err := run.Inline(dir, vars, argv)
	if err != nil {
		return err
	}
	return exitError{code}
}

// cmdHistory is `bgrun history [NAME] [--lines N] [--json]`: the events of
// one process or of all, newest first.
func cmdHistory(args []string, e *env) error {
	if len(args) > 1 {
		return usagef("history takes at most one process name")
	}
	limit, err := e.lines(50)
	if err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	evs, err := db.Events(name, limit)
	if err != nil {
		return err
	}
	if e.c.bools["json"] {
		return writeJSON(e.stdout, evs)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, ev := range evs {
		detail := ""
		if len(ev.Detail) > 0 {
			b, _ := json.Marshal(ev.Detail)
			detail = string(b)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\tpid %d\t%s\n", ev.At.Local().Format(time.RFC3339), ev.Name, ev.Event, ev.PID, detail)
	}
	return tw.Flush()
}

// cmdPorts is `bgrun ports [NAME] [--json]`: which managed process listens
// where.
func cmdPorts(args []string, e *env) error {
	if len(args) > 1 {
		return usagef("ports takes at most one process name")
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	name := ""
	if len(args) == 1 {
		name = args[0]
		if _, err := db.Get(name); err != nil {
			return err
		}
	}
	procs, err := ps.List(db, ps.Options{})
	if err != nil {
		return err
	}
	entries, err := ps.PortTable(procs, name)
	if err != nil {
		return err
	}
	if e.c.bools["json"] {
		return writeJSON(e.stdout, entries)
	}
	if len(entries) == 0 {
		e.say("No managed process listens on a TCP port.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPORT\tPID\tADDRESS")
	for _, p := range entries {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", p.Name, p.Port, p.PID, p.Address)
	}
	return tw.Flush()
}

// killPort is `bgrun --kill-port N`: end whatever listens on port N.
func killPort(e *env) error {
	v := e.c.vals["kill-port"]
	port, err := strconv.Atoi(v)
	if err != nil || port <= 0 || port > 65535 {
		return usagef("--kill-port wants a port number (1-65535), got %q", v)
	}
	opt, err := e.stopOptions()
	if err != nil {
		return err
	}
	ended, err := stop.KillPort(port, opt)
	for _, h := range ended {
		e.say("Ended pid %d (%s), which listened on port %d.", h.PID, h.Command, port)
	}
	if err != nil {
		return err
	}
	if len(ended) == 0 {
		e.say("Port %d is already free.", port)
		return nil
	}
	e.say("Freed port %d.", port)
	return nil
}

// dashboardPort reads --port, else BUN_PORT (the original's variable); either
// makes the port explicit: used as given, or the start fails.
func dashboardPort(c *cmdline) (port int, explicit bool, err error) {
	v, from := c.vals["port"], "--port"
	if v == "" {
		v, from = os.Getenv("BUN_PORT"), "BUN_PORT"
	}
	if v == "" {
		return 3000, false, nil
	}
	port, err = strconv.Atoi(v)
	if err != nil || port <= 0 || port > 65535 {
		return 0, false, usagef("%s wants a port number (1-65535), got %q", from, v)
	}
	return port, true, nil
}

// launchDashboard is `bgrun --dashboard [--port N] [--host H] [--token T]`.
func launchDashboard(e *env) error {
	port, explicit, err := dashboardPort(e.c)
	if err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	home, err := store.Home()
	if err != nil {
		return err
	}
	so, err := e.stopOptions()
	if err != nil {
		return err
	}
	return dash.Launch(db, e.dbPath, dash.LaunchOptions{Port: port, PortExplicit: explicit,
		Host: e.c.vals["host"], Token: e.c.vals["token"], Force: e.c.bools["force"], Home: home,
		StopTimeout: so.Timeout, Out: e.stdout})
}

// serveDashboard is the dashboard process itself (`bgrun --_serve`), started
// by launchDashboard.
func serveDashboard(e *env) error {
	port, explicit, err := dashboardPort(e.c)
	if err != nil {
		return err
	}
	path := e.c.vals["db"]
	if path == "" {
		if path, err = store.DefaultPath(); err != nil {
			return err
		}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	return dash.Serve(ctx, dash.ServeOptions{Port: port, Explicit: explicit, Host: e.c.vals["host"],
		Token: e.c.vals["token"], DBPath: path, Version: version})
}

// cmdRun is `bgrun run NAME -- CMD ARGS...` or `bgrun run --name N --command C`.
func cmdRun(args []string, e *env) error {
	c := e.c
	if len(args) > 1 {
		return usagef("unexpected argument %q; put the command after --", args[1])
	}
	if len(args) == 1 {
		if c.vals["name"] != "" {
			return usagef("unexpected argument %q (the name is already %q)", args[0], c.vals["name"])
		}
		c.vals["name"] = args[0]
		c.pos = nil
	}
	if c.dash {
		return startFromArgs(e)
	}
	if c.vals["name"] == "" {
		return usagef("run needs a name: bgrun run NAME -- CMD ARGS...")
	}
	return start(e, run.Options{Name: c.vals["name"], Command: c.vals["command"]})
}

// startFromArgs starts the command given after "--", named by --name or
// after the command itself.
func startFromArgs(e *env) error {
	c := e.c
	if len(c.rest) == 0 {
		return usagef("nothing after --; give the command to run: bgrun -- CMD ARGS...")
	}
	if len(c.pos) > 0 {
		return usagef("unexpected argument %q before --; name the process with --name", c.pos[0])
	}
	if c.has("command") {
		return usagef("give the command either with --command or after --, not both")
	}
	command := run.JoinArgs(c.rest)
	name := c.vals["name"]
	if name == "" {
		db, err := e.open()
		if err != nil {
			return err
		}
		if name, err = run.NameFor(db, command); err != nil {
			return err
		}
	}
	return start(e, run.Options{Name: name, Command: command})
}

// start fills the options from the command line and starts the process.
func start(e *env, o run.Options) error {
	c := e.c
	if err := store.ValidateName(o.Name); err != nil {
		return usageError{err.Error()}
	}
	if c.bools["no-config"] && c.has("config") {
		return usagef("--config and --no-config contradict each other")
	}
	if v, ok := c.vals["directory"]; ok && v == "" {
		return usagef("--directory is empty")
	}
	home, err := store.Home()
	if err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	so, err := e.stopOptions()
	if err != nil {
		return err
	}
	o.Dir, o.Force, o.Fetch = c.vals["directory"], c.bools["force"], c.bools["fetch"]
	o.Stdout, o.Stderr, o.LogsDir = c.vals["stdout"], c.vals["stderr"], c.vals["logs-dir"]
	o.Config, o.NoConfig = c.vals["config"], c.bools["no-config"]
	o.EnvFiles, o.Set = c.lists["env-file"], c.lists["set"]
	for _, kv := range o.Set {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return usagef("--set wants KEY=VALUE, got %q", kv)
		}
	}
	if !o.Restart {
		o.Env = os.Environ()
	}
	o.Home, o.StopTimeout, o.Out = home, so.Timeout, e.stdout
	o.Watch = c.bools["watch"] || c.bools["hot"]
	o.Guard, o.Ignore, o.Spawn = c.bools["guard"], c.lists["ignore"], watch.Spawn
	if v, ok := c.vals["max-restarts"]; ok {
		if o.MaxRestarts, err = strconv.Atoi(v); err != nil || o.MaxRestarts < 1 {
			return usagef("--max-restarts wants a positive number, got %q", v)
		}
	}
	if o.Grace, err = run.GraceFromEnv(); err != nil {
		return err
	}
	if o.Duties, err = dutyOptions(c); err != nil {
		return err
	}
	if r, err := db.Get(o.Name); err == nil {
		e.rotateLogs(r)
	}
	res, err := run.Start(db, o)
	if err != nil {
		return err
	}
	for _, f := range res.Loaded {
		e.say("Loaded %s", f)
	}
	if r := res.Record; r.Watch || r.Guard {
		var modes []string
		if r.Watch {
			modes = append(modes, "watching "+r.Dir+" for changes")
		}
		if r.Guard {
			modes = append(modes, "restarting it when it crashes")
		}
		defer e.say("Supervisor: %s.", strings.Join(modes, ", "))
	}
	if r := res.Record; r.Ready != "" && r.Status == store.StatusRunning {
		defer e.say("Ready: %s answered.", r.Ready)
	}
	verb := "Started"
	if o.Restart || res.Replaced {
		verb = "Restarted"
	}
	r := res.Record
	e.say("%s %s (pid %d). Logs: %s, %s", verb, r.Name, r.PID, r.StdoutPath, r.StderrPath)
	return nil
}

// rotateLogs keeps the logs of recs under their cap (run.RotateLogs); every
// command that touches a record calls it. A failure is a warning only.
func (e *env) rotateLogs(recs ...store.Record) {
	if err := run.RotateLogs(recs...); err != nil {
		fmt.Fprintf(e.stderr, "bgrun: warning: rotate logs: %v\n", err)
	}
}

// dutyOptions reads the flags of log rotation, the readiness check, health
// checks and the memory limit.
func dutyOptions(c *cmdline) (run.Duties, error) {
	var d run.Duties
	size := func(flag string) (int64, error) {
		v, ok := c.vals[flag]
		if !ok {
			return 0, nil
		}
		n, err := run.ParseSize(v)
		if err != nil {
			return 0, usagef("--%s: %v", flag, err)
		}
		if n == 0 {
			return -1, nil // 0 turns it off
		}
		return n, nil
	}
	duration := func(flag string) (time.Duration, error) {
		v, ok := c.vals[flag]
		if !ok {
			return 0, nil
		}
		t, err := time.ParseDuration(v)
		if err != nil || t <= 0 {
			return 0, usagef("--%s wants a duration such as 30s, got %q", flag, v)
		}
		return t, nil
	}
	var err error
	if d.LogMaxSize, err = size("log-max-size"); err != nil {
		return d, err
	}
	if d.MaxMemory, err = size("max-memory"); err != nil {
		return d, err
	}
	if v, ok := c.vals["log-keep"]; ok {
		if d.LogKeep, err = strconv.Atoi(v); err != nil || d.LogKeep < 1 {
			return d, usagef("--log-keep wants a positive number, got %q", v)
		}
	}
	if v, ok := c.vals["ready"]; ok {
		if _, err := run.ParseReady(v); err != nil {
			return d, usageError{err.Error()}
		}
		d.Ready = v
	}
	if d.ReadyTimeout, err = duration("ready-timeout"); err != nil {
		return d, err
	}
	if d.HealthInterval, err = duration("health-interval"); err != nil {
		return d, err
	}
	return d, nil
}

const helpText = `bgrun - start, list, watch, stop and restart named background processes

Usage:
  bgrun                                   List all processes (also: bgrun ps)
  bgrun NAME                              Show one process in full (also: bgrun show NAME)
  bgrun --name NAME --command "CMD"       Start a process (in the current directory)
  bgrun -- CMD ARGS...                    Start a process named after its command
  bgrun run NAME -- CMD ARGS...           Start a process named NAME
  bgrun NAME --logs [--lines N]           Show its stdout and stderr (also: bgrun logs NAME [-f])
  bgrun --stop NAME                       Stop it (SIGTERM to its whole tree, then SIGKILL); keep the record
  bgrun --restart NAME                    Stop and start it again with the same command, directory and env
  bgrun --delete NAME                     Stop it and remove its record and log files
  bgrun --clean                           Remove every stopped process
  bgrun --nuke                            Stop and remove everything
  bgrun --stop-all | --restart-all        Stop or restart every process
  bgrun --env [--shell S] [--config P]    Print the config as shell exports: eval "$(bgrun --env)"
                                          (S: sh, bash, zsh, fish, powershell, cmd, json)
  bgrun inline [--config P] -- CMD ARGS   Run CMD in this terminal with the config's environment
  bgrun --dashboard [--port N]            Start the web dashboard as the process bgr-dashboard
        [--host ADDR] [--token T]         (port 3000 or the next free one; --port/BUN_PORT: exactly N;
        [--force]                         a token is needed off localhost; --force restarts it)

Subcommands: ps (list), show, logs, run (start), stop, restart, delete (rm), clean, nuke, ports,
history, env, inline, version, help.
  bgrun history [NAME] [--json]           Starts, stops, exits and restarts, newest first
  bgrun ports [NAME] [--json]             Which managed process listens on which TCP port
  bgrun --kill-port N                     End whatever listens on port N (never pid 1 or bgrun)
A process named like a subcommand is shown with: bgrun show NAME.

Start options:
  --name, -n NAME        Process name: letters, digits, '.', '_' and '-'
  --command, -c CMD      Command, run with /bin/sh -c
  --directory, -d DIR    Working directory (default: the current one)
  --force, -f            Replace the process if it runs (stop its tree first)
  --fetch                git pull --ff-only in the directory before starting
  --config PATH          TOML config flattened into the environment (default: .config.toml)
  --no-config            Load no config file
  --env-file PATH        Load KEY=VALUE lines from a .env file (repeatable)
  --set KEY=VALUE        Set one variable (repeatable)
  --stdout PATH          stdout log (default: ~/.bgr/NAME-out.txt)
  --stderr PATH          stderr log (default: ~/.bgr/NAME-err.txt)
  --logs-dir DIR         Put NAME-out.txt and NAME-err.txt in DIR
  --log-max-size SIZE    Rotate a log past SIZE to NAME-out.txt.1 .. .N (default 10M; 0 = never)
  --log-keep N           Rotated copies kept per log (default 3)
  --ready CHECK          Wait until ready: http://HOST:PORT/PATH (2xx/3xx), tcp:PORT or cmd:COMMAND
  --ready-timeout D      How long a start waits for --ready (default 30s); never ready = failed start

Environment of a process, later wins: the caller's environment at start (kept
for restarts), the config file, the .env files, --set, then BGR_PROCESS_NAME
(and BGR_PARENT_NAME when started from inside another managed process).

Supervision (a detached bgrun supervisor owns the process):
  --watch, -w            Restart when a file in the directory changes (polling; ignores .git,
                         node_modules, the logs, and patterns in .bgrunignore)
  --hot                  Same as --watch
  --ignore PATTERNS      More watch ignore patterns, gitignore style, comma-separated (repeatable)
  --guard                Restart it when it crashes, with backoff
  --max-restarts N       Guard: give up after N restarts in a row
  --health-interval D    Guard: repeat the --ready check every D (default 10s); 3 failures restart it
  --max-memory SIZE      Restart it when its tree's RSS stays above SIZE (500M, 2G) for two checks
  bgrun NAME --guard     Guard a process that runs; --guard-off stops guarding (the process runs on)

Other options:
  --json, -j             Print JSON (list, show)
  --filter GROUP         List only processes whose BGR_GROUP is GROUP
  --lines N              Last N log lines (default: all)
  --log-stdout           Logs: stdout only (also --stdout in bgrun logs)
  --log-stderr           Logs: stderr only
  --follow, -f           bgrun logs: keep printing new lines
  --timeout DURATION     How long stop waits after SIGTERM before SIGKILL (default 5s)
  --db PATH              Store file (default: ~/.bgr/bgr.sqlite; DB_NAME=name picks ~/.bgr/name.sqlite)
  --version, -v          Print the version
  --help, -h             Print this help

Environment variables:
  DB_NAME                       Store file name under ~/.bgr (default bgr)
  BGR_HOME                      bgrun's folder (default ~/.bgr)
  BGR_GROUP                     Group of the processes started
  BGR_STARTUP_HEALTH_GRACE_MS   Startup window in ms: a process that exits in it failed (default 500, 0 = off)
  BGR_STOP_TIMEOUT              Default for --timeout
  NO_COLOR                      No colours

Exit status: 0 ok, 1 failure, 2 usage error.
`
