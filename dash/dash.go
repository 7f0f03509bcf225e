// Package dash implements the web dashboard: `bgrun --dashboard` starts it as
// a managed process named bgr-dashboard, which serves the page and a JSON API
// over net/http, with live updates over Server-Sent Events.
//
// The dashboard never re-implements an operation: starting, stopping,
// deleting and listing go through the run, stop and ps packages, exactly as
// the CLI does, and it sees the CLI's changes through the shared store.
package dash

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"bgrun/logs"
	"bgrun/ps"
	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
)

// Name is the record name of the dashboard process.
const Name = "bgr-dashboard"

// defaultHost is where the dashboard listens unless told otherwise: this
// machine only.
const defaultHost = "127.0.0.1"

// defaultPort is the first port tried when none is given explicitly.
const defaultPort = 3000

// tokenEnv carries the access token from `bgrun --dashboard` to the server
// process: the environment, unlike the command line, is not shown by ps.
const tokenEnv = "BGR_DASH_TOKEN"

// listenWait bounds how long launch waits for a started dashboard to listen.
const listenWait = 5 * time.Second

// LaunchOptions configure `bgrun --dashboard`.
type LaunchOptions struct {
	Port         int  // 3000 unless PortExplicit
	PortExplicit bool // --port or BUN_PORT: use exactly this port or fail
	Host         string
	Token        string
	Force        bool   // restart a running dashboard
	Home         string // the store's folder: logs and token; db.Dir() when ""
	StopTimeout  time.Duration
	Grace        time.Duration // the startup window, as main read it
	Out          io.Writer
}

// launch starts the dashboard as the managed process bgr-dashboard, or says
// where it already runs.
func launch(ctx context.Context, db *store.DB, dbPath string, o LaunchOptions) error {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	cur, err := ps.Get(ctx, db, Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("dashboard: %w", err)
	}
	if err == nil && cur.Running && !o.Force {
		rec, err := db.Get(Name)
		if err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
		if len(cur.Ports) == 0 {
			fmt.Fprintf(out, "Dashboard already running (pid %d), not listening yet; see: bgrun %s --logs\n", cur.PID, Name)
			return nil
		}
		u := dashURL(hostOf(rec.Command), cur.Ports[0], token(rec))
		fmt.Fprintf(out, "Dashboard already running at %s (pid %d)\n", u, cur.PID)
		fmt.Fprintf(out, "Restart it with: bgrun --dashboard --force\n")
		return nil
	}

	host := o.Host
	if host == "" {
		host = defaultHost
	}
	if o.Home == "" {
		o.Home = db.Dir()
	}
	// The login token: --token (or BGR_DASH_TOKEN) becomes the store's
	// token; else the one kept in the store's folder, made the first time,
	// so every launch prints the same link.
	token := o.Token
	if token == "" {
		token = os.Getenv(tokenEnv)
	}
	if token != "" {
		err = saveToken(o.Home, token)
	} else {
		token, err = loadToken(o.Home)
	}
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("dashboard: find the bgrun executable: %w", err)
	}
	absDB, err := filepath.Abs(dbPath)
	if err != nil {
		return fmt.Errorf("dashboard: store path: %w", err)
	}
	args := []string{exe, "--_serve", "--db", absDB}
	if o.PortExplicit {
		args = append(args, "--port", strconv.Itoa(o.Port))
	}
	if o.Host != "" {
		args = append(args, "--host", o.Host)
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == tokenEnv || (k == "BUN_PORT" && !o.PortExplicit) {
			continue
		}
		env = append(env, kv)
	}
	set := []string{tokenEnv + "=" + token}
	if err := store.MkdirPrivate(o.Home); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	res, err := run.Request(ctx, db, run.Options{
		Name: Name, Command: execPrefix + run.JoinArgs(args), Dir: o.Home, Force: o.Force,
		Env: env, Set: set, NoConfig: true, EnvFiles: []string{}, Home: o.Home,
		StopTimeout: o.StopTimeout, Grace: o.Grace,
	}, out)
	if err != nil {
		return err
	}
	p, err := waitListening(ctx, db, res.Record)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Dashboard running at %s (pid %d)\n", dashURL(host, p.Ports[0], token), p.PID)
	fmt.Fprintf(out, "Stop it with: bgrun --stop %s\n", Name)
	fmt.Fprintf(out, "Logs: bgrun %s --logs\n", Name)
	return nil
}

// waitListening polls the started dashboard until it listens, and reports
// its log when it ends first: a dashboard that cannot bind its explicit port
// exits with the reason on stderr.
func waitListening(ctx context.Context, db *store.DB, rec store.Record) (ps.Process, error) {
	deadline := time.Now().Add(listenWait)
	for {
		p, err := ps.Get(ctx, db, Name)
		if err != nil {
			return p, fmt.Errorf("dashboard: %w", err)
		}
		if !p.Running {
			tail, _ := logs.Tail(rec.StderrPath, 10)
			msg := fmt.Sprintf("the dashboard exited while starting (pid %d)", rec.PID)
			if t := strings.TrimRight(string(tail), "\n"); t != "" {
				msg += "; last lines of " + rec.StderrPath + ":\n" + t
			}
			return p, errors.New(msg)
		}
		if len(p.Ports) > 0 {
			return p, nil
		}
		if time.Now().After(deadline) {
			return p, fmt.Errorf("the dashboard (pid %d) is not listening after %v; see: bgrun %s --logs", p.PID, listenWait, Name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dashURL is the address a user opens: the token, when one is used, rides in
// the query so the first page load can carry it.
func dashURL(host string, port int, token string) string {
	u := "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	return u
}

// hostOf reads the --host argument back from a dashboard's stored command.
func hostOf(command string) string {
	f := strings.Fields(command)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "--host" {
			return strings.Trim(f[i+1], `'"`)
		}
	}
	return defaultHost
}

// token returns the token a dashboard record was started with, "" for none.
func token(rec store.Record) string {
	v, _ := run.LookupEnvVar(run.EnvFromList(rec.Set), tokenEnv)
	return v
}

// newToken returns 128 random bits as hex.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("dashboard: make a token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// isLoopbackHost reports whether host names this machine only: localhost or
// a loopback address.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeOptions configure the dashboard server process (`bgrun --_serve`).
type ServeOptions struct {
	Port     int
	Explicit bool
	Host     string
	Token    string
	DBPath   string
	Version  string
	// StopTimeout is BGR_STOP_TIMEOUT as main read it: the default of the
	// stops and starts from the UI.
	StopTimeout time.Duration
	// Out receives the "listening on" line; os.Stdout when nil.
	Out io.Writer
}

// serve runs the dashboard server until ctx is done.
func serve(ctx context.Context, o ServeOptions) error {
	if o.Host == "" {
		o.Host = defaultHost
	}
	if o.Token == "" {
		o.Token = os.Getenv(tokenEnv)
	}
	// Processes started from the dashboard inherit its environment: the
	// token must not travel with it.
	os.Unsetenv(tokenEnv)
	if o.Token == "" && !isLoopbackHost(o.Host) {
		return store.Errorf(store.KindBadInput, "dashboard: listening on %s (not this machine only) needs a token", o.Host)
	}
	out := o.Out
	if out == nil {
		out = os.Stdout
	}
	ln, err := listen(ctx, o)
	if err != nil {
		return err
	}
	s, err := newServer(o)
	if err != nil {
		ln.Close()
		return err
	}
	defer s.Close()
	fmt.Fprintf(out, "bgrun dashboard listening on http://%s\n", ln.Addr())
	return s.serve(ctx, ln)
}

// listen binds the dashboard's port: exactly the explicit one, or the first
// free one from the default upward. It never frees a port by killing.
func listen(ctx context.Context, o ServeOptions) (net.Listener, error) {
	port := o.Port
	if port == 0 {
		port = defaultPort
	}
	if o.Explicit {
		ln, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(port)))
		if err == nil {
			return ln, nil
		}
		if busy, holders, herr := stop.HoldersOf(ctx, port); herr == nil && busy {
			who := "a process bgrun cannot see"
			if len(holders) > 0 {
				who = fmt.Sprintf("pid %d", holders[0].PID)
				if holders[0].Command != "" {
					who += " (" + holders[0].Command + ")"
				}
			}
			return nil, store.Errorf(store.KindConflict, "port %d is in use by %s", port, who)
		}
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var last error
	for p := port; p < port+100 && p <= 65535; p++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(p)))
		if err == nil {
			return ln, nil
		}
		last = err
	}
	return nil, fmt.Errorf("dashboard: no free port from %d to %d: %w", port, min(port+99, 65535), last)
}
