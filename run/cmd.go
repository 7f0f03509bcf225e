package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"bgrun/stop"
	"bgrun/store"
)

// CmdOptions are the flags of `bgrun run [NAME] [-- CMD ARGS...]` and of the
// original's start forms (`bgrun --name N --command C`, `bgrun -- CMD`,
// `bgrun NAME --force`). Options.Home and Options.Grace are filled in when
// zero; Options.Env is the caller's environment unless Restart.
type CmdOptions struct {
	Options
	// Argv is the command given after "--"; with no Name, the process is
	// named after it.
	Argv []string
}

// CmdRun is the run command: start (or replace, or restart as stored) one
// process and say where its logs are.
func CmdRun(ctx context.Context, db *store.DB, w io.Writer, o CmdOptions) error {
	if len(o.Argv) > 0 {
		if o.Command != "" {
			return store.Errorf(store.KindBadInput, "the command is given twice")
		}
		if strings.TrimSpace(strings.Join(o.Argv, "")) == "" {
			return store.Errorf(store.KindBadInput, "the command after -- is empty")
		}
		o.Command = JoinArgs(o.Argv)
		if o.Name == "" {
			name, err := nameFor(db, o.Command)
			if err != nil {
				return err
			}
			o.Name = name
		}
	}
	if o.Name == "" {
		return store.Errorf(store.KindBadInput, "a process name is needed")
	}
	return start(ctx, db, w, o.Options)
}

// RestartOptions are the flags of `bgrun restart NAME...` (`bgrun --restart
// NAME`, `bgrun --restart-all`). Options is the template of each restart.
type RestartOptions struct {
	Names []string
	All   bool
	Options
}

// CmdRestart is the restart command: restart each named process (or all)
// with its stored command, directory and environment.
func CmdRestart(ctx context.Context, db *store.DB, w, errw io.Writer, o RestartOptions) error {
	o.Restart = true
	if o.All {
		return stop.EachRecord(ctx, db, w, errw, "restart", func(r store.Record, w io.Writer) error {
			return restart(ctx, db, w, o.Options, r)
		})
	}
	recs := make([]store.Record, len(o.Names))
	for i, n := range o.Names {
		if err := store.ValidateName(n); err != nil {
			return err
		}
		recs[i], _ = db.Get(n) // a missing one fails in its turn
		recs[i].Name = n
	}
	for _, r := range recs {
		if err := restart(ctx, db, w, o.Options, r); err != nil {
			return err
		}
	}
	return nil
}

// restart restarts r, as it was when the command began: one stopped since
// (by a stop that came while this command restarted others) stays stopped.
func restart(ctx context.Context, db *store.DB, w io.Writer, o Options, r store.Record) error {
	o.Name = r.Name
	if r.Status != "" && r.Status != store.StatusStopped {
		o.Expect = store.Cond{Not: store.StatusStopped}
	}
	err := start(ctx, db, w, o)
	if errors.Is(err, store.ErrChanged) {
		_, err = fmt.Fprintf(w, "%s was stopped meanwhile: not restarted.\n", r.Name)
	}
	return err
}

// start asks the supervisor to start the process (after a git pull, for
// Fetch) and says what happened. o carries the caller's settings (startup
// window, stop timeout) as main read them.
func start(ctx context.Context, db *store.DB, w io.Writer, o Options) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !o.Restart && o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Fetch {
		dir := o.Dir
		if dir == "" {
			r, err := db.Get(o.Name)
			if err != nil {
				return err
			}
			dir = r.Dir
		}
		if err := gitPull(ctx, dir, w); err != nil {
			return err
		}
		o.Fetch = false
	}
	res, err := Request(ctx, db, o, w)
	if err != nil {
		return err
	}
	for _, f := range res.Loaded {
		fmt.Fprintf(w, "Loaded %s\n", f)
	}
	r := res.Record
	verb := "Started"
	if o.Restart || res.Replaced {
		verb = "Restarted"
	}
	on := ""
	for i, p := range res.Ports {
		on += map[bool]string{true: " on :", false: ", :"}[i == 0] + strconv.Itoa(p)
	}
	fmt.Fprintf(w, "%s %s (pid %d)%s. Logs: %s, %s\n", verb, r.Name, r.PID, on, r.StdoutPath, r.StderrPath)
	if r.Ready != "" && r.Status == store.StatusRunning {
		fmt.Fprintf(w, "Ready: %s answered.\n", r.Ready)
	}
	if r.Watch || r.Guard {
		var modes []string
		if r.Watch {
			modes = append(modes, "watching "+r.Dir+" for changes")
		}
		if r.Guard {
			modes = append(modes, "restarting it when it crashes")
		}
		fmt.Fprintf(w, "Supervisor: %s.\n", strings.Join(modes, ", "))
	}
	return nil
}

// EnvOptions are the flags of `bgrun env [CONFIG]` (`bgrun --env`).
type EnvOptions struct {
	Dir      string // "." when empty
	Config   string
	NoConfig bool
	EnvFiles []string
	Shell    string // defaultShell() when empty
}

// CmdEnv is the env command: print the config's variables as lines the
// shell evaluates back to the exact values.
func CmdEnv(ctx context.Context, w io.Writer, o EnvOptions) error {
	if o.Shell == "" {
		o.Shell = defaultShell()
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Config == "" && !o.NoConfig && len(o.EnvFiles) == 0 {
		if _, err := os.Stat(filepath.Join(o.Dir, defaultConfig)); err != nil {
			return store.Errorf(store.KindNotFound, "no %s in %s", defaultConfig, o.Dir)
		}
	}
	vars, _, err := configEnv(o.Dir, o.Config, o.NoConfig, o.EnvFiles)
	if err != nil {
		return err
	}
	out, err := renderEnv(vars, o.Shell)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out)
	return err
}

// InlineOptions are the flags of `bgrun inline [flags] -- CMD ARGS...`.
type InlineOptions struct {
	Dir      string // "." when empty
	Config   string
	NoConfig bool
	EnvFiles []string
	Argv     []string
}

// Exited is the error of a command that ran and exited with this status
// (not 0), whose output, if any, was printed already: bgrun exits with it.
type Exited int

func (e Exited) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// CmdInline is the inline command: run a command in the foreground with
// the config's environment; a status other than 0 is an Exited error.
func CmdInline(ctx context.Context, o InlineOptions) error {
	if len(o.Argv) == 0 {
		return store.Errorf(store.KindBadInput, "no command to run")
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	vars, _, err := configEnv(o.Dir, o.Config, o.NoConfig, o.EnvFiles)
	if err != nil {
		return err
	}
	code, err := inline(o.Dir, vars, o.Argv)
	if err == nil && code != 0 {
		err = Exited(code)
	}
	return err
}
