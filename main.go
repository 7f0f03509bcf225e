// Command bgrun starts, lists, watches, stops and restarts named background
// processes on one machine. It is also installed as bgr.
//
// This file holds the table of commands (each with its flags, usage and
// handler, which lives in the feature's package), the one parser over it,
// the mapping of the original bgrun's flag forms (`bgrun --stop api`,
// `bgrun api --logs`) onto the same entries, and the exit codes: 0 ok,
// 1 failure, 2 usage. Help and completion are rendered from the table by
// run's WriteHelp, WriteOverview and WriteCompletion.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"bgrun/dash"
	"bgrun/logs"
	"bgrun/ps"
	"bgrun/run"
	"bgrun/run/boot"
	"bgrun/run/stack"
	"bgrun/stop"
	"bgrun/store"
	"bgrun/watch"
)

// version is bgrun's version; release builds may set it with -ldflags.
var version = "0.1.0"

// interruptGrace is how long bgrun may take to wind down after Ctrl-C or
// SIGTERM before it exits anyway, as it would without a handler: calls that
// do not watch the context yet must not make Ctrl-C ineffective.
const interruptGrace = 3 * time.Second

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		cancel() // a second signal ends bgrun at once
		time.AfterFunc(interruptGrace, func() { os.Exit(130) })
	}()
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}

// command is one entry of the table. Adding a command is one entry here
// plus a function in its package.
type command struct {
	name    string
	aliases []string
	summary string // one line, for `bgrun --help` and completion
	usage   string // what follows the name: "NAME... [--timeout D]"
	example string
	flags   string   // the shared flags it takes (flagDefs), space-separated
	local   []flag   // its own flags, or shared names with another meaning here
	args    [2]int   // least and most arguments; -1: no limit
	argKind kind     // what each argument must be (the zero kind: anything)
	argFlag string   // its argument is this flag's value, given either way
	dash    bool     // takes a command after "--"
	argv    bool     // its first argument starts the command to run (inline)
	legacy  []legacy // the original's flag forms of it
	hidden  bool
	nodb    bool // needs no store
	starts  bool // starts processes: reads the startup window from the environment
	run     func(ctx context.Context, in *invocation) error
}

// legacy is one of the original's action flags: `--stop NAME`,
// `--kill-port N`, `NAME --logs`; it selects its command and maybe sets one
// of that command's flags (`--stop-all` is `stop --all`).
type legacy struct {
	flag, short string
	value       bool   // takes a value, which becomes the first argument
	set         string // a flag of the command it implies
	weak        bool   // only an action when the line is no start (--guard)
}

// kind says what value a flag takes; the parser checks it, once for all.
type kind int

const (
	boolKind  kind = iota
	strKind        // any text
	listKind       // any text, repeatable
	csvKind        // comma-separated, repeatable
	countKind      // a positive whole number
	durKind        // a duration such as 5s
	portKind       // a TCP port, 1-65535
	initKind       // an init system bgrun startup writes for
	sizeKind       // a size such as 500M or 2G; 0 turns the limit off
	readyKind      // a readiness check: http://HOST:PORT/PATH, tcp:PORT or cmd:COMMAND
)

type flag struct {
	name, short string
	kind        kind
	arg, help   string
}

// flagDefs are the flags shared by several commands; every command also
// takes --db and --help.
var flagDefs = []flag{
	{"name", "n", strKind, "NAME", "process name: letters, digits, '.', '_' and '-'"},
	{"command", "c", strKind, "CMD", "the command line, run with /bin/sh -c"},
	{"directory", "d", strKind, "DIR", "working directory (default: the current one)"},
	{"force", "f", boolKind, "", "replace it if it runs: stop its tree, free its ports"},
	{"fetch", "", boolKind, "", "git pull --ff-only in the directory first"},
	{"config", "", strKind, "PATH", "TOML config flattened into the environment (default .config.toml)"},
	{"no-config", "", boolKind, "", "load no config file"},
	{"env-file", "", listKind, "PATH", "load KEY=VALUE lines from a .env file (repeatable)"},
	{"set", "", listKind, "KEY=VALUE", "set one variable (repeatable)"},
	{"stdout", "", strKind, "PATH", "stdout log (default ~/.bgr/NAME-out.txt)"},
	{"stderr", "", strKind, "PATH", "stderr log (default ~/.bgr/NAME-err.txt)"},
	{"logs-dir", "", strKind, "DIR", "put NAME-out.txt and NAME-err.txt in DIR"},
	{"watch", "w", boolKind, "", "restart when a file in the directory changes"},
	{"hot", "", boolKind, "", "the same as --watch"},
	{"ignore", "", csvKind, "PATTERNS", "more watch ignore patterns, gitignore style, comma-separated"},
	{"guard", "", boolKind, "", "restart it when it crashes, with backoff"},
	{"max-restarts", "", countKind, "N", "guard: give up after N restarts in a row"},
	{"timeout", "", durKind, "DURATION", "wait this long after SIGTERM before SIGKILL (default 5s)"},
	{"log-max-size", "", sizeKind, "SIZE", "rotate a log past SIZE (default 10M; 0: never)"},
	{"log-keep", "", countKind, "N", "rotated copies of each log to keep (default 3)"},
	{"ready", "", readyKind, "CHECK", "a start waits until http://HOST:PORT/PATH, tcp:PORT or cmd:COMMAND answers"},
	{"ready-timeout", "", durKind, "DURATION", "how long a start waits for --ready (default 30s)"},
	{"health-interval", "", durKind, "DURATION", "guard: repeat --ready this often; 3 failures restart it (default 10s)"},
	{"max-memory", "", sizeKind, "SIZE", "restart it when its tree's memory stays above SIZE (500M, 2G)"},
	{"json", "j", boolKind, "", "print JSON"},
	{"filter", "", strKind, "GROUP", "only processes whose BGR_GROUP is GROUP"},
	{"lines", "", countKind, "N", "the last N lines"},
	{"all", "", boolKind, "", "every process"},
	{"shell", "", strKind, "SHELL", "sh, bash, zsh, fish, powershell, cmd or json"},
	{"port", "", portKind, "N", "exactly this port (default 3000 or the next free one; also BUN_PORT)"},
	{"host", "", strKind, "ADDR", "listen address (default 127.0.0.1; others need a token)"},
	{"token", "", strKind, "T", "access token, required off localhost"},
	{"db", "", strKind, "PATH", "store file (default ~/.bgr/bgr.sqlite; DB_NAME=name picks ~/.bgr/name/name.sqlite)"},
	{"help", "h", boolKind, "", "show this help"},
}

const startFlags = "name command directory force fetch config no-config env-file set stdout stderr logs-dir watch hot ignore guard max-restarts timeout " + dutyFlags

// dutyFlags are the settings of the supervisor's duties that a start or a
// restart takes: log rotation, readiness and health checks, the memory limit.
const dutyFlags = "log-max-size log-keep ready ready-timeout health-interval max-memory"

var commands []*command

func init() {
	commands = []*command{
		{name: "ps", aliases: []string{"list"}, summary: "list every process", usage: "[--json] [--filter GROUP]",
			example: "bgrun ps --json | jq '.[].name'", flags: "json filter", args: [2]int{0, 0},
			run: func(ctx context.Context, in *invocation) error {
				return ps.CmdList(ctx, in.db, in.stdout, ps.ListOptions{JSON: in.bool("json"), Group: in.str("filter"),
					Style: ps.StyleFor(in.stdout), Loaded: func(recs []store.Record) { run.RotateWarn(in.stderr, recs...) }})
			}},
		{name: "show", summary: "show one process in full", usage: "NAME... [--json]", example: "bgrun api", flags: "json",
			args: [2]int{1, -1}, run: func(ctx context.Context, in *invocation) error {
				run.RotateNamed(in.db, in.stderr, in.args...)
				return ps.CmdShow(ctx, in.db, in.stdout, ps.ShowOptions{Names: in.args, JSON: in.bool("json"), Style: ps.StyleFor(in.stdout)})
			}},
		{name: "run", starts: true, aliases: []string{"start"}, summary: "start a process", usage: "[NAME] [flags] [-- CMD ARGS...]",
			example: "bgrun run api -- node server.js   (or: bgrun --name api --command \"node server.js\")",
			flags:   startFlags, args: [2]int{0, 1}, argFlag: "name", dash: true,
			run: func(ctx context.Context, in *invocation) error {
				switch name, given := in.vals["name"]; {
				case given && name == "":
					return store.ValidateName("")
				case !given && !in.dash:
					return in.usagef("needs a process name: bgrun run NAME -- CMD, or bgrun -- CMD")
				case name == dash.Name:
					return in.usagef("%s is the dashboard's name: start it with bgrun --dashboard, or choose another", dash.Name)
				}
				return run.CmdRun(ctx, in.db, in.stdout, run.CmdOptions{Options: startOptions(in), Argv: in.rest})
			}},
		{name: "restart", starts: true, summary: "restart with the stored command, directory and environment", usage: "NAME... | --all",
			example: "bgrun restart api", flags: "all fetch force watch hot guard ignore max-restarts timeout " + dutyFlags,
			args: [2]int{0, -1}, legacy: []legacy{{flag: "restart"}, {flag: "restart-all", set: "all"}},
			run: func(ctx context.Context, in *invocation) error {
				if err := in.namesOrAll(); err != nil {
					return err
				}
				return run.CmdRestart(ctx, in.db, in.stdout, in.stderr, run.RestartOptions{Names: in.args, All: in.bool("all"), Options: startOptions(in)})
			}},
		{name: "logs", summary: "show (and follow) the logs of one process, several, or all", usage: "[NAME...] [--stdout|--stderr] [--lines N] [-f] [--filter GROUP]",
			example: "bgrun logs api -f   (bgrun logs: every process, each line prefixed with its name)", flags: "lines filter", args: [2]int{0, -1},
			local: []flag{{"stdout", "", boolKind, "", "stdout only"}, {"stderr", "", boolKind, "", "stderr only"},
				{"follow", "f", boolKind, "", "keep printing new lines until Ctrl-C"}},
			legacy: []legacy{{flag: "logs", short: "l"}, {flag: "log-stdout", set: "stdout"}, {flag: "log-stderr", set: "stderr"}},
			run: func(ctx context.Context, in *invocation) error {
				st := ps.StyleFor(in.stdout)
				run.RotateNamed(in.db, in.stderr, in.args...)
				return logs.CmdLogs(ctx, in.db, in.stdout, logs.CmdOptions{Names: in.args, Group: in.str("filter"), Lines: in.int("lines"),
					Stdout: in.bool("stdout"), Stderr: in.bool("stderr"), Follow: in.bool("follow"),
					Marks: run.LogMarks, Terminal: st.Width > 0 && st.Color, Color: st.Color})
			}},
		{name: "stop", summary: "stop (SIGTERM to the tree, then SIGKILL); keep the record", usage: "NAME... | --all",
			example: "bgrun stop api --timeout 10s", flags: "all timeout", args: [2]int{0, -1},
			legacy: []legacy{{flag: "stop"}, {flag: "stop-all", set: "all"}},
			run: func(ctx context.Context, in *invocation) error {
				if err := in.namesOrAll(); err != nil {
					return err
				}
				return stop.CmdStop(ctx, in.db, in.stdout, in.stderr, stop.CmdOptions{Names: in.args, All: in.bool("all"), Options: stopOptions(in)})
			}},
		{name: "delete", aliases: []string{"rm"}, summary: "stop, and remove the record and its log files", usage: "NAME...",
			example: "bgrun delete api", flags: "timeout", args: [2]int{1, -1}, legacy: []legacy{{flag: "delete"}},
			run: func(ctx context.Context, in *invocation) error {
				return stop.CmdDelete(ctx, in.db, in.stdout, stop.CmdOptions{Names: in.args, Options: stopOptions(in)})
			}},
		{name: "clean", summary: "remove every stopped process and its logs", example: "bgrun clean", flags: "timeout",
			legacy: []legacy{{flag: "clean"}}, run: func(ctx context.Context, in *invocation) error {
				return stop.CmdClean(ctx, in.db, in.stdout, stopOptions(in))
			}},
		{name: "nuke", summary: "stop and remove everything", example: "bgrun nuke", flags: "timeout",
			legacy: []legacy{{flag: "nuke"}}, run: func(ctx context.Context, in *invocation) error {
				return stop.CmdNuke(ctx, in.db, in.stdout, stopOptions(in))
			}},
		{name: "up", starts: true, summary: "start the stack in bgrun.toml in dependency order", usage: "[-f FILE] [NAME...]",
			example: "bgrun up   (bgrun up -f dev.toml api)", flags: "timeout", args: [2]int{0, -1},
			local: []flag{{"file", "f", strKind, "FILE", "the stack file (default bgrun.toml)"}},
			run: func(ctx context.Context, in *invocation) error {
				return stack.Up(ctx, in.db, in.stdout, in.stderr, stackOptions(in))
			}},
		{name: "down", summary: "stop the stack in reverse dependency order", usage: "[-f FILE] [NAME...] [--delete]",
			example: "bgrun down --delete", flags: "timeout", args: [2]int{0, -1},
			local: []flag{{"file", "f", strKind, "FILE", "the stack file (default bgrun.toml)"},
				{"delete", "", boolKind, "", "also remove the records and their logs"}},
			run: func(ctx context.Context, in *invocation) error {
				return stack.Down(ctx, in.db, in.stdout, in.stderr, stackOptions(in))
			}},
		{name: "import", nodb: true, summary: "print a Procfile or PM2 ecosystem file as a bgrun.toml", usage: "FILE",
			example: "bgrun import Procfile > bgrun.toml", args: [2]int{1, 1},
			run: func(ctx context.Context, in *invocation) error {
				return stack.Import(ctx, in.args[0], in.stdout, in.stderr)
			}},
		{name: "resurrect", starts: true, summary: "start every process you left running (after a reboot)", usage: "[--filter GROUP]",
			example: "bgrun resurrect", flags: "filter timeout", args: [2]int{0, 0},
			run: func(ctx context.Context, in *invocation) error {
				return boot.Resurrect(ctx, in.db, in.stdout, boot.ResurrectOptions{Group: in.str("filter"),
					Start: run.Options{StopTimeout: in.startTimeout(), Grace: in.grace}})
			}},
		{name: "startup", nodb: true, summary: "print (or --install) a unit that runs bgrun resurrect at boot", usage: "[INIT] [--install]   (INIT: systemd or launchd; default: this machine's)",
			example: "bgrun startup --install", args: [2]int{0, 1}, argKind: initKind,
			local: []flag{{"install", "", boolKind, "", "write and enable the unit"}},
			run: func(ctx context.Context, in *invocation) error {
				return boot.Startup(ctx, in.stdout, startupOptions(in))
			}},
		{name: "unstartup", nodb: true, summary: "remove the unit that bgrun startup installed", usage: "[INIT]",
			example: "bgrun unstartup", args: [2]int{0, 1}, argKind: initKind,
			run: func(ctx context.Context, in *invocation) error {
				return boot.Unstartup(ctx, in.stdout, startupOptions(in))
			}},
		{name: "guard", summary: "turn the crash guard of a running process on (or --off)", usage: "NAME [--off]",
			example: "bgrun guard api   (or: bgrun api --guard)", args: [2]int{1, 1},
			local:  []flag{{"off", "", boolKind, "", "stop guarding it (the process runs on)"}},
			legacy: []legacy{{flag: "guard", weak: true}, {flag: "guard-off", set: "off", weak: true}},
			run: func(ctx context.Context, in *invocation) error {
				return watch.CmdGuard(ctx, in.db, in.stdout, watch.GuardOptions{Name: in.args[0], Off: in.bool("off")})
			}},
		{name: "history", summary: "starts, stops, exits and restarts, newest first", usage: "[NAME] [--lines N] [--json]",
			example: "bgrun history api --lines 20", flags: "lines json", args: [2]int{0, 1},
			run: func(ctx context.Context, in *invocation) error {
				return watch.CmdHistory(ctx, in.db, in.stdout, watch.HistoryOptions{Name: in.arg(0), Lines: in.int("lines"), JSON: in.bool("json")})
			}},
		{name: "ports", summary: "which managed process listens on which TCP port", usage: "[NAME] [--json]",
			example: "bgrun ports --json", flags: "json", args: [2]int{0, 1},
			run: func(ctx context.Context, in *invocation) error {
				return ps.CmdPorts(ctx, in.db, in.stdout, ps.PortsOptions{Name: in.arg(0), JSON: in.bool("json")})
			}},
		{name: "kill-port", nodb: true, summary: "end whatever listens on a TCP port (never pid 1, never bgrun)", usage: "PORT",
			example: "bgrun kill-port 3000", flags: "timeout", args: [2]int{1, 1}, argKind: portKind,
			legacy: []legacy{{flag: "kill-port", value: true}},
			run: func(ctx context.Context, in *invocation) error {
				port, _ := strconv.Atoi(in.args[0])
				return stop.CmdKillPort(ctx, in.stdout, stop.KillPortOptions{Port: port, Options: stopOptions(in)})
			}},
		{name: "env", nodb: true, summary: "print the config as shell exports", usage: "[CONFIG] [--shell SHELL]",
			example: `eval "$(bgrun env)"   bgrun env --shell fish | source`, flags: "config no-config env-file directory shell",
			args: [2]int{0, 1}, argFlag: "config", legacy: []legacy{{flag: "env"}},
			run: func(ctx context.Context, in *invocation) error {
				return run.CmdEnv(ctx, in.stdout, run.EnvOptions{Dir: in.str("directory"), Config: in.str("config"),
					NoConfig: in.bool("no-config"), EnvFiles: in.list("env-file"), Shell: in.str("shell")})
			}},
		{name: "inline", nodb: true, summary: "run a command here with the config's environment", usage: "[flags] [--] CMD ARGS...",
			example: "bgrun inline --config prod.toml -- ./migrate", flags: "config no-config env-file directory",
			args: [2]int{0, 0}, dash: true, argv: true,
			run: func(ctx context.Context, in *invocation) error {
				if len(in.rest) == 0 {
					return in.usagef("needs a command: bgrun inline -- CMD ARGS...")
				}
				return run.CmdInline(ctx, run.InlineOptions{Dir: in.str("directory"), Config: in.str("config"),
					NoConfig: in.bool("no-config"), EnvFiles: in.list("env-file"), Argv: in.rest})
			}},
		{name: "dashboard", starts: true, summary: "start the web dashboard as the process bgr-dashboard", usage: "[--port N] [--host ADDR] [--token T] [--force]",
			example: "bgrun dashboard --port 5000", flags: "port host token force timeout", legacy: []legacy{{flag: "dashboard"}},
			run: func(ctx context.Context, in *invocation) error {
				return dash.CmdDashboard(ctx, in.db, in.stdout, dash.LaunchOptions{Port: in.int("port"),
					Host: in.str("host"), Token: in.str("token"), Force: in.bool("force"), StopTimeout: in.startTimeout(), Grace: in.grace})
			}},
		{name: "completion", nodb: true, summary: "print a shell completion script", usage: "bash|zsh|fish",
			example: "source <(bgrun completion bash)", args: [2]int{1, 1},
			run: func(ctx context.Context, in *invocation) error {
				if err := run.WriteCompletion(in.stdout, in.args[0], usages(), usageFlags(flagDefs)); err != nil {
					return in.usagef("%v", err)
				}
				return nil
			}},
		{name: "version", nodb: true, summary: "print the version", legacy: []legacy{{flag: "version", short: "v"}},
			run: func(ctx context.Context, in *invocation) error {
				_, err := fmt.Fprintf(in.stdout, "bgrun version: %s\n", version)
				return err
			}},
		{name: "help", nodb: true, summary: "help on bgrun or on one command", usage: "[COMMAND]", example: "bgrun help run", args: [2]int{0, 1},
			run: func(ctx context.Context, in *invocation) error { return writeHelp(in.stdout, in.arg(0)) }},
		{name: "_serve", nodb: true, hidden: true, summary: "the dashboard server process, started by dashboard", flags: "port host token", legacy: []legacy{{flag: "_serve"}},
			run: func(ctx context.Context, in *invocation) error {
				path, err := in.dbPath()
				if err != nil {
					return err
				}
				return dash.CmdServe(ctx, in.stdout, dash.ServeOptions{Port: in.int("port"), Host: in.str("host"),
					Token: in.str("token"), DBPath: path, Version: version, StopTimeout: in.stopTimeout})
			}},
		{name: "_supervise", nodb: true, hidden: true, starts: true, summary: "the supervisor of a store", usage: "STORE [--boot]",
			args: [2]int{1, 1}, legacy: []legacy{{flag: "_supervise", value: true}},
			local: []flag{{"boot", "", boolKind, "", "start the processes left running first (the boot unit)"}},
			run: func(ctx context.Context, in *invocation) error {
				return watch.Supervise(ctx, in.args[0], watch.Options{Grace: in.grace, StopTimeout: in.stopTimeout, Boot: in.bool("boot")})
			}},
		{name: "_names", hidden: true, summary: "print every process name, for completion", run: func(ctx context.Context, in *invocation) error { return ps.CmdNames(ctx, in.db, in.stdout) }},
	}
}

// startOptions reads the start flags into run's options.
func startOptions(in *invocation) run.Options {
	return run.Options{Name: in.str("name"), Command: in.str("command"), Dir: in.str("directory"),
		Force: in.bool("force"), Fetch: in.bool("fetch"), Config: in.str("config"), NoConfig: in.bool("no-config"),
		EnvFiles: in.list("env-file"), Set: in.list("set"), Stdout: in.str("stdout"), Stderr: in.str("stderr"),
		LogsDir: in.str("logs-dir"), Watch: in.bool("watch") || in.bool("hot"), Guard: in.bool("guard"),
		Ignore: in.list("ignore"), MaxRestarts: in.int("max-restarts"), StopTimeout: in.startTimeout(), Grace: in.grace,
		Duties: run.Duties{LogMaxSize: sizeFlag(in, "log-max-size"), LogKeep: in.int("log-keep"),
			Ready: in.str("ready"), ReadyTimeout: in.dur("ready-timeout"), HealthInterval: in.dur("health-interval"),
			MaxMemory: sizeFlag(in, "max-memory")}}
}

// sizeFlag reads a size flag: 0 when not given, -1 for an explicit 0 (off).
func sizeFlag(in *invocation, name string) int64 {
	n, ok := in.vals[name].(int64)
	if ok && n == 0 {
		return -1
	}
	return n
}

// stackOptions reads the flags of up and down.
func stackOptions(in *invocation) stack.Options {
	return stack.Options{File: in.str("file"), Names: in.args, Delete: in.bool("delete"), Env: os.Environ(),
		StopTimeout: in.startTimeout(), Grace: in.grace}
}

// startupOptions reads the flags of startup and unstartup.
func startupOptions(in *invocation) boot.StartupOptions {
	return boot.StartupOptions{Init: in.arg(0), Install: in.bool("install"), DBPath: in.str("db"), Notes: in.stderr}
}

// stopOptions are the options of a stop: --timeout when given, else the
// record's own, else BGR_STOP_TIMEOUT (see stop.Options).
func stopOptions(in *invocation) stop.Options {
	return stop.Options{Timeout: in.dur("timeout"), Default: in.stopTimeout}
}

// startTimeout is the stop timeout a start stores with its record: --timeout,
// else BGR_STOP_TIMEOUT.
func (in *invocation) startTimeout() time.Duration {
	if d := in.dur("timeout"); d > 0 {
		return d
	}
	return in.stopTimeout
}

// readSettings reads bgrun's settings from the environment, once, before
// the command runs, for the commands that use them: BGR_STOP_TIMEOUT for
// those that stop (they take --timeout), BGR_STARTUP_HEALTH_GRACE_MS for
// those that start. A bad value is refused before anything runs.
func (in *invocation) readSettings() error {
	var err error
	_, given := in.vals["timeout"] // it wins: BGR_STOP_TIMEOUT is not even read
	if !given && (slices.Contains(strings.Fields(in.cmd.flags), "timeout") || in.cmd.starts || in.cmd.name == "_serve") {
		if in.stopTimeout, err = stop.TimeoutFromEnv(); err != nil {
			return err
		}
	}
	if in.cmd.starts {
		in.grace, err = run.GraceFromEnv()
	}
	return err
}

// usageError is a mistake in the command line: exit status 2, printed as
// one line naming the command.
type usageError struct{ cmd, msg string }

func (e usageError) Error() string { return e.msg }

// Main runs bgrun with args and returns its exit status. Every error is
// printed here, once.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "bgrun: internal error: %v\n", r)
			code = 1
		}
	}()
	in, err := parse(args)
	if err == nil {
		err = in.readSettings()
	}
	if err == nil && !in.cmd.nodb {
		var path string
		if path, err = in.dbPath(); err == nil {
			in.db, err = store.Open(path)
		}
		if err == nil && !in.cmd.hidden {
			// Any command brings back a supervisor that a record needs.
			if werr := run.EnsureNeeded(in.db); werr != nil {
				fmt.Fprintf(stderr, "bgrun: warning: %v\n", werr)
			}
		}
	}
	if err == nil {
		in.stdout, in.stderr = stdout, stderr
		err = in.cmd.run(ctx, in)
	}
	if in != nil && in.db != nil {
		in.db.Close()
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "bgrun: interrupted")
		return 130
	}
	return report(stderr, in, err)
}

// report prints err as one line (a failed start adds its stderr tail) with
// the command line's hint, and returns the exit status of its kind.
func report(stderr io.Writer, in *invocation, err error) int {
	var ue usageError
	var ec run.Exited
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return int(ec)
	case errors.As(err, &ue):
		prefix, see := "bgrun", "bgrun --help"
		if ue.cmd != "" {
			prefix, see = "bgrun "+ue.cmd, "bgrun help "+ue.cmd
		}
		fmt.Fprintf(stderr, "%s: %s (see '%s')\n", prefix, ue.msg, see)
		return 2
	}
	msg, code := err.Error(), 1
	cmd := ""
	if in != nil {
		cmd = in.cmd.name
	}
	switch k := store.KindOf(err); {
	case k == store.KindBadInput:
		code = 2
	case errors.Is(err, run.ErrRunning):
		msg += "; use --force to replace it, or --restart"
	case k == store.KindNotFound && cmd == "env":
		msg += "; name a config file with --config"
	case k == store.KindNotFound && cmd == "run":
		msg += `; give the command: bgrun run NAME -- CMD`
	case k == store.KindNotFound && cmd == "show" && len(in.args) == 1:
		if s := suggestCommand(in.args[0]); s != "" {
			msg, code = fmt.Sprintf("%s; did you mean the command 'bgrun %s'?", msg, s), 2
		}
	case k == store.KindConflict && cmd == "_serve":
		msg += "; choose another with --port, or stop it first"
	case errors.Is(err, run.ErrNoFreeName):
		msg += "; name it with --name"
	}
	fmt.Fprintf(stderr, "bgrun: %s\n", msg)
	return code
}

// invocation is a parsed command line: its command, flag values, arguments
// and the store it opens on demand.
type invocation struct {
	cmd            *command
	vals           map[string]any
	args, rest     []string // arguments; the command after "--"
	dash           bool     // a "--" was given
	stdout, stderr io.Writer
	db             *store.DB // open unless the command is nodb
	// stopTimeout and grace are BGR_STOP_TIMEOUT and
	// BGR_STARTUP_HEALTH_GRACE_MS, read once (see readSettings).
	stopTimeout, grace time.Duration
}

func (in *invocation) str(name string) string        { s, _ := in.vals[name].(string); return s }
func (in *invocation) bool(name string) bool         { b, _ := in.vals[name].(bool); return b }
func (in *invocation) int(name string) int           { n, _ := in.vals[name].(int); return n }
func (in *invocation) list(name string) []string     { l, _ := in.vals[name].([]string); return l }
func (in *invocation) dur(name string) time.Duration { d, _ := in.vals[name].(time.Duration); return d }

func (in *invocation) arg(i int) string {
	if i < len(in.args) {
		return in.args[i]
	}
	return ""
}

func (in *invocation) usagef(format string, a ...any) error {
	return usageError{in.cmd.name, fmt.Sprintf(format, a...)}
}

// namesOrAll checks the arguments of stop and restart: names, or --all.
func (in *invocation) namesOrAll() error {
	switch all := in.bool("all"); {
	case all && len(in.args) > 0:
		return in.usagef("takes names or --all, not both (got %q)", in.args[0])
	case !all && len(in.args) == 0:
		return in.usagef("needs a process name, or --all")
	}
	return nil
}

func (in *invocation) dbPath() (string, error) {
	if p := in.str("db"); p != "" {
		return p, nil
	}
	return store.DefaultPath()
}

// lookup finds a command by name or alias.
func lookup(word string) *command {
	for _, c := range commands {
		if c.name == word || slices.Contains(c.aliases, word) {
			return c
		}
	}
	return nil
}

// flagsOf returns the flags c takes: its own first, then the shared ones it
// names, then --db and --help.
func flagsOf(c *command) []flag {
	fs := slices.Clone(c.local)
	for _, name := range strings.Fields(c.flags + " db help") {
		if f, ok := findFlag(flagDefs, "--"+name); ok {
			fs = append(fs, f)
		}
	}
	return fs
}

// spells reports whether a command-line word is --name or -short.
func spells(word, name, short string) bool {
	return word == "--"+name || (short != "" && word == "-"+short)
}

// findFlag finds the flag a word ("--json", "-j") names among fs.
func findFlag(fs []flag, word string) (flag, bool) {
	i := slices.IndexFunc(fs, func(f flag) bool { return spells(word, f.name, f.short) })
	if i < 0 {
		return flag{}, false
	}
	return fs[i], true
}

// findLegacy finds the command of one of the original's action flags.
func findLegacy(word string) (*command, legacy, bool) {
	for _, c := range commands {
		for _, l := range c.legacy {
			if spells(word, l.flag, l.short) {
				return c, l, true
			}
		}
	}
	return nil, legacy{}, false
}

// isFlag reports whether a is one of bgrun's flags, so `--name --force`
// reads as a missing name rather than a process called "--force".
func isFlag(a string) bool {
	word, _, _ := strings.Cut(a, "=")
	_, shared := findFlag(flagDefs, word)
	_, _, action := findLegacy(word)
	return a == "--" || shared || action
}

// helpOn is the invocation of `bgrun help TOPIC...`.
func helpOn(topic ...string) *invocation {
	return &invocation{cmd: lookup("help"), args: topic, vals: map[string]any{}}
}

// parse reads a command line: a command word and its arguments, or one of
// the original's forms, mapped onto the same command.
func parse(args []string) (*invocation, error) {
	if c := lookup(slices.Concat(args, []string{""})[0]); c != nil {
		return parseFor(c, args[1:])
	}
	return parseLegacy(args)
}

// parseFor parses args against the flags of c.
func parseFor(c *command, args []string) (*invocation, error) {
	in := &invocation{cmd: c, vals: map[string]any{}}
	fs := flagsOf(c)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--" && !c.dash:
			return in, in.usagef("takes no command after --")
		case a == "--":
			in.dash, in.rest = true, args[i+1:]
			return in, in.check()
		case (len(a) < 2 || a[0] != '-') && c.argv:
			in.dash, in.rest = true, args[i:]
			return in, in.check()
		case len(a) < 2 || a[0] != '-':
			in.args = append(in.args, a)
			continue
		}
		word, val, hasVal := strings.Cut(a, "=")
		f, ok := findFlag(fs, word)
		switch {
		case !ok:
			return in, in.unknownFlag(word)
		case f.name == "help":
			return helpOn(c.name), nil
		case f.kind == boolKind:
			b, err := true, error(nil)
			if hasVal {
				if b, err = strconv.ParseBool(val); err != nil {
					return in, in.usagef("--%s takes no value (got %q)", f.name, val)
				}
			}
			in.vals[f.name] = b
			continue
		case !hasVal && (i+1 >= len(args) || isFlag(args[i+1])):
			return in, in.usagef("flag --%s needs a value", f.name)
		case !hasVal:
			i++
			val = args[i]
		}
		v, err := checkValue(f.kind, val)
		if err != nil {
			return in, in.usagef("--%s %v", f.name, err)
		}
		switch old := in.vals[f.name].(type) {
		case []string:
			in.vals[f.name] = append(old, v.([]string)...)
		case nil:
			in.vals[f.name] = v
		default:
			return in, in.usagef("flag --%s given twice", f.name)
		}
	}
	return in, in.check()
}

// check checks what a whole command line holds: the number and kind of the
// arguments, and flags that contradict each other.
func (in *invocation) check() error {
	c := in.cmd
	switch {
	case in.str("config") != "" && in.bool("no-config"):
		return in.usagef("--config and --no-config contradict each other")
	case c.dash && in.dash && len(in.rest) == 0:
		return in.usagef("nothing after --: give the command to run")
	case len(in.args) < c.args[0]:
		return in.usagef("needs %s", strings.Fields(c.usage + " ARG")[0])
	case c.args[1] >= 0 && len(in.args) > c.args[1]:
		return in.usagef("unexpected argument %q", in.args[c.args[1]])
	}
	for _, a := range in.args {
		if _, err := checkValue(c.argKind, a); err != nil {
			return in.usagef("%s %v", strings.Trim(strings.Fields(c.usage)[0], "[]"), err)
		}
	}
	if v := os.Getenv("BUN_PORT"); v != "" && in.vals["port"] == nil && slices.Contains(strings.Fields(c.flags), "port") {
		// The original's variable: a port given either way is explicit.
		p, err := checkValue(portKind, v)
		if err != nil {
			return in.usagef("BUN_PORT: %v", err)
		}
		in.vals["port"] = p
	}
	if f := c.argFlag; f != "" && len(in.args) == 1 {
		if v, given := in.vals[f]; given {
			return in.usagef("the %s is given twice (%q and %q)", f, in.args[0], v)
		}
		in.vals[f], in.args = in.args[0], nil
	}
	return nil
}

// unknownFlag explains a flag that the command does not take: one that
// another command takes, or a misspelt one.
func (in *invocation) unknownFlag(word string) error {
	var names, owners []string
	for _, f := range flagsOf(in.cmd) {
		names = append(names, "--"+f.name)
	}
	for _, c := range commands {
		for _, l := range c.legacy {
			names = append(names, "--"+l.flag)
		}
		if _, ok := findFlag(flagsOf(c), word); ok && c != in.cmd && !c.hidden {
			owners = append(owners, c.name)
		}
	}
	if len(owners) > 0 {
		return in.usagef("takes no %s (%s %s)", word, strings.Join(owners, ", "), map[bool]string{true: "does", false: "do"}[len(owners) == 1])
	}
	if s := run.Suggest(word, names); s != "" {
		return in.usagef("unknown flag %s; did you mean %s?", word, s)
	}
	return in.usagef("unknown flag %s", word)
}

// checkValue checks and converts a flag's value: the one check of each kind.
func checkValue(k kind, v string) (any, error) {
	n, nerr := strconv.Atoi(v)
	switch k {
	case countKind:
		if nerr != nil || n <= 0 {
			return nil, fmt.Errorf("wants a positive number, got %q", v)
		}
		return n, nil
	case portKind:
		if nerr != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("wants a port number (1-65535), got %q", v)
		}
		return n, nil
	case durKind:
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			return d, nil
		}
		return nil, fmt.Errorf("wants a duration such as 10s, got %q", v)
	case sizeKind:
		return run.ParseSize(v)
	case readyKind:
		_, err := run.ParseReady(v)
		return v, err
	case initKind:
		if !slices.Contains(boot.InitSystems, v) {
			return nil, fmt.Errorf("wants an init system (%s), got %q", strings.Join(boot.InitSystems, " or "), v)
		}
	case listKind:
		return []string{v}, nil
	case csvKind:
		return slices.DeleteFunc(strings.Split(v, ","), func(s string) bool { return s == "" }), nil
	}
	return v, nil
}

// parseLegacy maps the original's forms onto the table: an action flag
// (`--stop api`, `api --logs`) picks its command and the other words are
// parsed as that command's; without one, `-- CMD`, --command or a start
// flag is run, a name is show, and nothing is ps. --help and --version are
// commands too.
func parseLegacy(args []string) (*invocation, error) {
	var c, weakCmd *command
	var act, weak string
	var pre, dashRest, first, sets, names []string
	help := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		word, val, hasVal := strings.Cut(a, "=")
		lc, l, isAction := findLegacy(word)
		f, shared := findFlag(flagDefs, word)
		switch {
		case a == "--":
			dashRest = args[i:]
			i = len(args)
			continue
		case word == "--help" || word == "-h":
			help = true
			continue
		case !isAction && shared && f.kind != boolKind && !hasVal && i+1 < len(args) && !isFlag(args[i+1]):
			pre = append(pre, a, args[i+1]) // a value, never an action
			i++
			continue
		case !isAction:
			if !strings.HasPrefix(a, "-") || a == "-" {
				names = append(names, a)
			}
			pre = append(pre, a)
			continue
		case l.weak:
			weak, weakCmd = word, lc
		case c != nil && c != lc:
			return nil, usageError{"", fmt.Sprintf("%s and %s are two actions; give one", act, word)}
		default:
			c, act = lc, word
		}
		switch {
		case l.value && !hasVal && (i+1 >= len(args) || isFlag(args[i+1])):
			return nil, usageError{lc.name, fmt.Sprintf("flag %s needs a value", word)}
		case l.value && !hasVal:
			i++
			first = append(first, args[i])
		case hasVal:
			first = append(first, val)
		}
		if l.set != "" {
			sets = append(sets, "--"+l.set)
		}
	}
	if c == nil {
		c = impliedCommand(pre, len(names) > 0, dashRest != nil)
		if weakCmd != nil && c.name != "run" {
			c = weakCmd
		} else if weakCmd != nil {
			sets = append(sets, weak) // --guard as a start flag
		}
	}
	switch {
	case help && act == "" && weak == "":
		return helpOn(), nil // bgrun --help: the overview
	case help:
		return helpOn(c.name), nil
	case (c.name == "ps" || c.name == "show") && len(names) > 1:
		if s := suggestCommand(names[0]); s != "" {
			return nil, usageError{"", fmt.Sprintf("unknown command %q; did you mean %q?", names[0], s)}
		}
		return nil, usageError{"", fmt.Sprintf("unexpected argument %q; to start a command give it with --command \"...\" or after --: bgrun -- %s",
			names[1], strings.Join(names, " "))}
	case c.name != "run":
		// The commands other than run take the name as an argument:
		// `bgrun --stop --name api` is `bgrun stop api`.
		var rest []string
		for i := 0; i < len(pre); i++ {
			word, val, hasVal := strings.Cut(pre[i], "=")
			if f, ok := findFlag(flagDefs, word); !ok || f.name != "name" {
				rest = append(rest, pre[i])
				continue
			} else if !hasVal && (i+1 >= len(pre) || isFlag(pre[i+1])) {
				return nil, usageError{"", "flag --name needs a value"}
			} else if !hasVal {
				i++
				val = pre[i]
			}
			first = append(first, val)
		}
		pre = rest
	}
	return parseFor(c, slices.Concat(first, pre, sets, dashRest))
}

// impliedCommand is the command of a line without an action flag: run for
// `-- CMD` or a start flag, show for a name, else ps.
func impliedCommand(pre []string, hasName, dash bool) *command {
	for _, a := range pre {
		word, _, _ := strings.Cut(a, "=")
		f, ok := findFlag(flagDefs, word)
		switch {
		case ok && f.name == "name":
			hasName = true
		case ok && f.name != "db" && f.name != "timeout" && strings.Contains(" "+startFlags+" ", " "+f.name+" "):
			dash = true
		}
	}
	switch {
	case dash:
		return lookup("run")
	case hasName:
		return lookup("show")
	}
	return lookup("ps")
}

// suggestCommand returns the command a word of four letters or more was
// probably meant to be, or "": `bun` is no typo of run but a program.
func suggestCommand(word string) string {
	var words []string
	for _, u := range usages() {
		words = append(words, u.Names...)
	}
	if len(word) < 4 {
		return ""
	}
	return run.Suggest(word, words)
}

// writeHelp prints bgrun's help, or one command's: all of it from the table.
func writeHelp(w io.Writer, name string) error {
	if name == "" {
		return run.WriteOverview(w, usages())
	}
	if c := lookup(name); c != nil {
		return run.WriteHelp(w, usageOf(c))
	}
	msg := fmt.Sprintf("no command %q", name)
	if s := suggestCommand(name); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageError{"", msg}
}

// usages are the commands a user sees, as help and completion show them.
func usages() (us []run.Usage) {
	for _, c := range commands {
		if !c.hidden {
			us = append(us, usageOf(c))
		}
	}
	return us
}

// usageOf is c as help and completion show it, with the original's
// spellings of it: `bgrun --stop NAME...`.
func usageOf(c *command) run.Usage {
	u := run.Usage{Names: append([]string{c.name}, c.aliases...), Summary: c.summary, Args: c.usage,
		Example: c.example, Flags: usageFlags(flagsOf(c)), ProcessNames: strings.Contains(c.usage, "NAME")}
	for _, l := range c.legacy {
		form := "bgrun --" + l.flag
		if c.args[1] != 0 && l.set != "all" {
			form += " " + strings.Fields(c.usage + " VALUE")[0]
		}
		u.Forms = append(u.Forms, form)
	}
	return u
}

func usageFlags(fs []flag) (out []run.UsageFlag) {
	for _, f := range fs {
		out = append(out, run.UsageFlag{Name: f.name, Short: f.short, Arg: f.arg, Help: f.help})
	}
	return out
}
