package boot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"text/template"

	"bgrun/store"
)

// InitSystems are the init systems `bgrun startup` writes for.
var InitSystems = []string{"systemd", "launchd"}

// ErrNoInitSystem is returned when --install finds that the init system it
// would install into does not run on this machine.
var ErrNoInitSystem = errors.New("not running on this machine")

// writtenBy opens every file `bgrun startup` writes, so that `bgrun
// unstartup` removes only files bgrun wrote.
const writtenBy = "Written by `bgrun startup`"

// StartupOptions describe the unit `bgrun startup` prints or installs.
type StartupOptions struct {
	// Init is "systemd" or "launchd"; "" picks this machine's (defaultInit).
	Init string
	// Install writes the unit where the init system reads it and enables it.
	Install bool
	// Binary is the path of bgrun (this executable when ""); DBPath the
	// store in use (the default store when ""); Home bgrun's folder
	// (store.Home when ""; BGR_HOME, when set, is carried). All are made
	// absolute.
	Binary, DBPath, Home string
	// Notes receives how to install a printed unit by hand (stderr), so
	// that the unit alone can be redirected to a file; nil for none.
	Notes io.Writer
}

// unit is what the templates are filled with.
type unit struct {
	Binary, DBPath, Home, CarryHome string
	User, UserHome, Name, Label     string
	System                          bool // systemd as root: a system unit with User=
	Marker                          string
}

var systemdUnit = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("systemd").Parse(`# {{.Marker}}: the supervisor of a bgrun store, which starts at
# boot the processes {{.User}} left running (bgrun resurrect) and stays their parent.
[Unit]
Description=bgrun: the supervisor of {{.User}}'s processes ({{.DBPath}})
{{- if .System}}
Wants=network-online.target
After=network-online.target
{{- end}}

[Service]
Type=simple
# It exits 0 when nothing of the store runs, or when another supervisor of
# the store holds it: only a crash is restarted, so it never loops.
Restart=on-failure
RestartSec=1
# Stopping or restarting the unit ends the supervisor only: the processes run
# on, and the next supervisor adopts them.
KillMode=process
{{- if .System}}
User={{.User}}
{{- end}}
Environment="HOME={{.UserHome}}"
{{- if .CarryHome}}
Environment="BGR_HOME={{.CarryHome}}"
{{- end}}
ExecStart="{{.Binary}}" --_supervise "{{.DBPath}}" --boot --db "{{.DBPath}}"

[Install]
WantedBy={{if .System}}multi-user.target{{else}}default.target{{end}}
`))
})

var launchdPlist = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("launchd").Parse(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- {{.Marker}}: the supervisor of a bgrun store, which starts the processes left running (bgrun resurrect). -->
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{{.Label}}</string>
	<key>ProgramArguments</key>
	<array>
		<string>{{.Binary}}</string>
		<string>--_supervise</string>
		<string>{{.DBPath}}</string>
		<string>--boot</string>
		<string>--db</string>
		<string>{{.DBPath}}</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<!-- Started again when it crashes; an exit 0 (nothing runs) is final. -->
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>AbandonProcessGroup</key>
	<true/>
	<key>EnvironmentVariables</key>
	<dict>
		<key>HOME</key>
		<string>{{.UserHome}}</string>
{{- if .CarryHome}}
		<key>BGR_HOME</key>
		<string>{{.CarryHome}}</string>
{{- end}}
	</dict>
	<key>StandardOutPath</key>
	<string>{{.Home}}/{{.Name}}-startup.txt</string>
	<key>StandardErrorPath</key>
	<string>{{.Home}}/{{.Name}}-startup.txt</string>
</dict>
</plist>
`))
})

// resolve fills in the paths o leaves empty and makes them absolute.
func (o *StartupOptions) resolve() error {
	var err error
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return fmt.Errorf("find bgrun's executable: %w", err)
		}
	}
	if o.DBPath == "" {
		if o.DBPath, err = store.DefaultPath(); err != nil {
			return err
		}
	}
	if o.Home == "" {
		if o.Home, err = store.Home(); err != nil {
			return err
		}
	}
	for _, p := range []*string{&o.Binary, &o.DBPath, &o.Home} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	return nil
}

// newUnit fills in the unit for o: the user running bgrun, and a name that
// tells stores apart (bgrun for the default store, bgrun-NAME for
// DB_NAME=NAME or --db .../NAME.sqlite).
func newUnit(o StartupOptions) (unit, error) {
	u := unit{Binary: o.Binary, DBPath: o.DBPath, Home: o.Home, Marker: writtenBy}
	for _, p := range []string{o.Binary, o.DBPath, o.Home} {
		if !filepath.IsAbs(p) {
			return u, fmt.Errorf("%q is not an absolute path", p)
		}
		if strings.ContainsAny(p, "\"\\\n%$<>&") {
			return u, fmt.Errorf("path %q has characters a unit file cannot hold safely", p)
		}
	}
	cur, err := user.Current()
	if err != nil {
		return u, fmt.Errorf("find the current user: %w", err)
	}
	u.User, u.UserHome = cur.Username, cur.HomeDir
	if h := os.Getenv("BGR_HOME"); h != "" {
		u.CarryHome = o.Home
	}
	base := strings.TrimSuffix(filepath.Base(o.DBPath), ".sqlite")
	u.Name = "bgrun"
	if base != "bgr" {
		u.Name = "bgrun-" + sanitizeUnitName(base)
	}
	u.Label = "com.bgrun." + strings.TrimPrefix(u.Name, "bgrun-")
	if u.Name == "bgrun" {
		u.Label = "com.bgrun.resurrect"
	}
	u.System = os.Geteuid() == 0
	if u.System {
		u.Name += "-" + sanitizeUnitName(u.User)
	}
	return u, nil
}

func sanitizeUnitName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// startupUnit returns the unit file for o and where --install puts it.
func startupUnit(o StartupOptions) (text, path string, err error) {
	u, err := newUnit(o)
	if err != nil {
		return "", "", err
	}
	var b bytes.Buffer
	switch o.Init {
	case "systemd":
		err = systemdUnit().Execute(&b, u)
		path = filepath.Join(u.UserHome, ".config", "systemd", "user", u.Name+".service")
		if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
			path = filepath.Join(x, "systemd", "user", u.Name+".service")
		}
		if u.System {
			path = filepath.Join("/etc/systemd/system", u.Name+".service")
		}
	case "launchd":
		err = launchdPlist().Execute(&b, u)
		path = filepath.Join(u.UserHome, "Library", "LaunchAgents", u.Label+".plist")
	default:
		return "", "", fmt.Errorf("unknown init system %q; bgrun knows %s", o.Init, strings.Join(InitSystems, " and "))
	}
	return b.String(), path, err
}

// Startup is `bgrun startup [systemd|launchd] [--install]`: it prints a unit
// that runs the store's supervisor at boot for this user, which resurrects
// the processes left running and is started again should it crash; with
// Install it writes it, enables it and says what it did.
func Startup(ctx context.Context, w io.Writer, o StartupOptions) error {
	if o.Init == "" {
		o.Init = defaultInit
	}
	if o.Init == "" {
		return fmt.Errorf("bgrun startup knows %s; this system has neither", strings.Join(InitSystems, " and "))
	}
	if err := o.resolve(); err != nil {
		return err
	}
	text, path, err := startupUnit(o)
	if err != nil {
		return err
	}
	u, _ := newUnit(o)
	if !o.Install {
		fmt.Fprint(w, text)
		if o.Notes != nil {
			for _, l := range installHints(o.Init, u, path) {
				fmt.Fprintln(o.Notes, l)
			}
		}
		return nil
	}
	if err := initRunning(o.Init); err != nil {
		return err
	}
	if err := writeUnit(path, text); err != nil {
		return err
	}
	fmt.Fprintf(w, "Wrote %s\n", path)
	switch o.Init {
	case "systemd":
		scope := systemctlScope(u)
		if err := command(ctx, w, "systemctl", append(scope, "daemon-reload")...); err != nil {
			return err
		}
		if err := command(ctx, w, "systemctl", append(scope, "enable", u.Name+".service")...); err != nil {
			return err
		}
		fmt.Fprintf(w, "Enabled %s: at boot it runs the supervisor of %s, which starts what was left running.\n", u.Name+".service", o.DBPath)
		if !u.System {
			if _, err := os.Stat(filepath.Join("/var/lib/systemd/linger", u.User)); err != nil {
				fmt.Fprintf(w, "A user unit runs at boot only with lingering on; without it, it runs at your first login. Turn it on once with:\n  sudo loginctl enable-linger %s\n", u.User)
			} else {
				fmt.Fprintf(w, "Lingering is on for %s, so it runs at boot, before any login.\n", u.User)
			}
		}
	case "launchd":
		if err := command(ctx, w, "launchctl", "load", "-w", path); err != nil {
			return err
		}
		fmt.Fprintf(w, "Loaded %s: at login it runs the supervisor of %s, which starts what was left running.\n", u.Label, o.DBPath)
	}
	return nil
}

// installHints says how to install the printed unit by hand.
func installHints(init string, u unit, path string) []string {
	switch {
	case init == "systemd" && u.System:
		return []string{"Install it with: bgrun startup systemd --install", "(or save it as " + path + ",",
			"then: systemctl daemon-reload && systemctl enable " + u.Name + ".service)"}
	case init == "systemd":
		return []string{"Install it with: bgrun startup systemd --install", "(or save it as " + path + ",",
			"then: systemctl --user daemon-reload && systemctl --user enable " + u.Name + ".service).",
			"A user unit starts at boot only when lingering is on for " + u.User + "; otherwise at the first login.",
			"Turn it on once with: sudo loginctl enable-linger " + u.User}
	}
	return []string{"Install it with: bgrun startup launchd --install", "(or save it as " + path + ", then: launchctl load -w " + path + ")"}
}

func systemctlScope(u unit) []string {
	if u.System {
		return nil
	}
	return []string{"--user"}
}

// initRunning checks that the init system runs here, so that --install
// fails with a clear line instead of leaving a unit nothing will read.
func initRunning(init string) error {
	switch init {
	case "systemd":
		// sd_booted(3): systemd is PID 1 exactly when this directory exists.
		if fi, err := os.Stat("/run/systemd/system"); err != nil || !fi.IsDir() {
			return fmt.Errorf("systemd is %w (no /run/systemd/system); print the unit with `bgrun startup systemd` and install it where systemd runs", ErrNoInitSystem)
		}
		if _, err := exec.LookPath("systemctl"); err != nil {
			return fmt.Errorf("systemctl is not installed: %w", err)
		}
	case "launchd":
		if _, err := exec.LookPath("launchctl"); err != nil {
			return fmt.Errorf("launchd is %w (no launchctl); print the plist with `bgrun startup launchd`", ErrNoInitSystem)
		}
	}
	return nil
}

func writeUnit(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write unit: %w", err)
	}
	if b, err := os.ReadFile(path); err == nil && !bytes.Contains(b, []byte(writtenBy)) {
		return fmt.Errorf("%s exists and was not written by bgrun; remove it first", path)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write unit: %w", err)
	}
	return nil
}

// command runs an init system's command, its output going to w.
func command(ctx context.Context, w io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if msg := strings.TrimSpace(out.String()); msg != "" {
		fmt.Fprintln(w, msg)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// Unstartup is `bgrun unstartup [systemd|launchd]`: it disables and removes
// the unit `bgrun startup --install` wrote for this store. The processes
// keep running.
func Unstartup(ctx context.Context, w io.Writer, o StartupOptions) error {
	if o.Init == "" {
		o.Init = defaultInit
	}
	if err := o.resolve(); err != nil {
		return err
	}
	_, path, err := startupUnit(o)
	if err != nil {
		return err
	}
	u, _ := newUnit(o)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(w, "No startup unit to remove (%s does not exist).\n", path)
		return nil
	}
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(writtenBy)) {
		return fmt.Errorf("%s was not written by bgrun; left it alone", path)
	}
	switch o.Init {
	case "systemd":
		if initRunning("systemd") == nil {
			if err := command(ctx, w, "systemctl", append(systemctlScope(u), "disable", u.Name+".service")...); err != nil {
				return err
			}
		}
	case "launchd":
		if initRunning("launchd") == nil {
			command(ctx, w, "launchctl", "unload", "-w", path) // not loaded is fine
		}
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	fmt.Fprintf(w, "Removed %s; the processes keep running, and nothing starts them at boot.\n", path)
	if o.Init == "systemd" && initRunning("systemd") == nil {
		command(ctx, w, "systemctl", append(systemctlScope(u), "daemon-reload")...)
	}
	return nil
}
