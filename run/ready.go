package run

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"bgrun/ps"
	"bgrun/stop"
	"bgrun/store"
)

// readyPoll is how often a start probes until its process is ready.
const readyPoll = 200 * time.Millisecond

// probeTimeout bounds one probe, so that a server that accepts and never
// answers costs one try, not the whole wait.
const probeTimeout = 5 * time.Second

// ErrBadReadySpec is the kind of a readiness check that cannot be parsed.
var ErrBadReadySpec = errors.New("bad readiness check")

// ReadyKind names the three kinds of readiness check.
type ReadyKind string

// The kinds of readiness check.
const (
	ReadyHTTP ReadyKind = "http" // an HTTP GET answers 2xx or 3xx
	ReadyTCP  ReadyKind = "tcp"  // a TCP connect succeeds
	ReadyCmd  ReadyKind = "cmd"  // a command exits 0
)

// ReadySpec is a parsed readiness check.
type ReadySpec struct {
	Kind    ReadyKind
	URL     string // ReadyHTTP: the URL to GET
	Addr    string // ReadyTCP: host:port to connect to
	Command string // ReadyCmd: run with the shell in the process's folder
}

// ParseReady reads a readiness check: http://HOST:PORT/PATH (or https),
// tcp:PORT or tcp:HOST:PORT (HOST defaults to 127.0.0.1), or cmd:COMMAND.
// A check it cannot read is an error matching ErrBadReadySpec.
func ParseReady(spec string) (ReadySpec, error) {
	bad := func(why string) (ReadySpec, error) {
		return ReadySpec{}, fmt.Errorf("%w %q: %s; want http://HOST:PORT/PATH, tcp:PORT or cmd:COMMAND",
			ErrBadReadySpec, spec, why)
	}
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok {
		return bad("no kind")
	}
	switch strings.ToLower(kind) {
	case "http", "https":
		u, err := url.Parse(spec)
		if err != nil {
			return bad("not a URL")
		}
		if u.Host == "" || u.Hostname() == "" {
			return bad("no host")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return bad("the port must be a number from 1 to 65535")
			}
		}
		return ReadySpec{Kind: ReadyHTTP, URL: u.String()}, nil
	case "tcp":
		host, port := "127.0.0.1", rest
		if h, p, err := net.SplitHostPort(rest); err == nil {
			host, port = h, p
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("the port must be a number from 1 to 65535")
		}
		if host == "" {
			host = "127.0.0.1"
		}
		return ReadySpec{Kind: ReadyTCP, Addr: net.JoinHostPort(host, strconv.Itoa(n))}, nil
	case "cmd":
		if strings.TrimSpace(rest) == "" {
			return bad("no command")
		}
		return ReadySpec{Kind: ReadyCmd, Command: rest}, nil
	}
	return bad("unknown kind " + strconv.Quote(kind))
}

// Probe checks spec once: a GET that answers 2xx or 3xx (redirects are not
// followed), a TCP connect, or a command run with the shell in dir with env
// that exits 0. It returns nil when the check passes, else why not. A probe
// takes at most 5 s, less if ctx ends sooner.
func Probe(ctx context.Context, spec string, dir string, env []string) error {
	s, err := ParseReady(spec)
	if err != nil {
		return err
	}
	return s.Probe(ctx, dir, env)
}

// Probe is the package's Probe for a parsed check.
func (s ReadySpec) Probe(ctx context.Context, dir string, env []string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	switch s.Kind {
	case ReadyHTTP:
		return probeHTTP(ctx, s.URL)
	case ReadyTCP:
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", s.Addr)
		if err != nil {
			return fmt.Errorf("connect: %w", unwrapNet(err))
		}
		return c.Close()
	case ReadyCmd:
		return probeCmd(ctx, s.Command, dir, env)
	}
	return fmt.Errorf("%w: empty", ErrBadReadySpec)
}

// unwrapNet drops the "dial tcp ...:" prefix that net repeats from the
// caller's own message.
func unwrapNet(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var se *os.SyscallError // "connect: connection refused": the caller says connect
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

// probeHTTP sends one GET to u and wants a 2xx or 3xx answer; a redirect
// is not followed (a 3xx is itself a sign of life, and following it could
// leave the machine). It speaks the little HTTP/1.1 it needs over a plain
// connection rather than through http.Client, whose transport would add
// most of a megabyte to the binary for one request. An https check skips
// certificate verification: it asks whether the server answers, and a
// local server's certificate is rarely one the machine trusts.
func probeHTTP(ctx context.Context, u string) error {
	pu, err := url.Parse(u)
	if err != nil {
		return err
	}
	secure := strings.EqualFold(pu.Scheme, "https")
	addr := pu.Host
	if pu.Port() == "" {
		addr = net.JoinHostPort(pu.Hostname(), map[bool]string{true: "443", false: "80"}[secure])
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("GET: %w", unwrapNet(err))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if secure {
		tc := tls.Client(conn, &tls.Config{ServerName: pu.Hostname(), InsecureSkipVerify: true})
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("GET: %w", err)
		}
		conn = tc
	}
	req := &http.Request{Method: http.MethodGet, URL: pu, Host: pu.Host, Header: http.Header{"User-Agent": {"bgrun-ready"}},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Close: true}
	if err := req.Write(conn); err != nil {
		return fmt.Errorf("GET: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return fmt.Errorf("GET: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET: %s", resp.Status)
	}
	return nil
}

// probeOutput bounds what a failed cmd: probe quotes of its output.
const probeOutput = 200

func probeCmd(ctx context.Context, command, dir string, env []string) error {
	sh, _ := shellCommand(command)
	began := time.Now()
	cmd := exec.CommandContext(ctx, sh.Path, sh.Args[1:]...)
	if env == nil {
		env = os.Environ()
	}
	// Marked as a check of this supervisor, so that the next one ends it
	// should this one be killed meanwhile.
	cmd.Dir, cmd.Env = dir, withMarker(env, ps.ProbeMarker(ps.Self()))
	// In a session of its own, so that a timeout ends what it started too.
	probeSession(cmd)
	cmd.Cancel = func() error { return killProbe(cmd) }
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(string(out))
	if len(msg) > probeOutput {
		msg = "..." + msg[len(msg)-probeOutput:]
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("no answer in %v", time.Since(began).Round(100*time.Millisecond))
	}
	if msg != "" {
		return fmt.Errorf("%v: %s", err, msg)
	}
	return err
}

// NotReadyError is a start whose process ran but never passed its
// readiness check in time, or ended while it was awaited. It is a failed
// start: the process was stopped and the record marked failed.
type NotReadyError struct {
	Name       string
	Spec       string
	Timeout    time.Duration
	Ended      bool   // the process ended on its own while awaited
	Last       string // why the last probe failed
	StderrTail string
	StderrPath string
}

// ErrorKind makes a start never ready a failed start.
func (e *NotReadyError) ErrorKind() store.Kind { return store.KindFailedStart }

func (e *NotReadyError) Error() string {
	msg := fmt.Sprintf("%s was not ready within %v (%s: %s); it was stopped", e.Name, e.Timeout, e.Spec, e.Last)
	if e.Ended {
		msg = fmt.Sprintf("%s ended before it was ready (%s: %s)", e.Name, e.Spec, e.Last)
	}
	if e.StderrTail != "" {
		msg += "; last lines of " + e.StderrPath + ":\n" + e.StderrTail
	}
	return msg
}

// waitReady probes rec's readiness check every 200 ms until it passes
// (nil), for up to rec.ReadyWait(), while l, the leader of the start, or
// its tree still runs. It writes nothing: a process that is not ready in
// time is ended here, and the error is a *NotReadyError either way (Ended
// when the process ended on its own, or was stopped, while awaited; its
// exit is then in rec).
func waitReady(ctx context.Context, l *Leader, rec *store.Record, env []string) error {
	spec, err := ParseReady(rec.Ready)
	if err != nil {
		return err
	}
	timeout := rec.ReadyWait()
	deadline := time.Now().Add(timeout)
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	last := ""
	notReady := func(ended bool) error {
		e := &NotReadyError{Name: rec.Name, Spec: rec.Ready, Timeout: timeout, Ended: ended, Last: last}
		if !ended {
			stop.TreeOf(ps.OwnerOf(*rec), stop.TimeoutOf(*rec))
			// Ended by bgrun: its leader's status says how.
			select {
			case <-l.Done():
			case <-time.After(time.Second):
			}
		}
		if code, sig, known, at := l.Exit(); known && l.Ended() {
			rec.ExitCode, rec.ExitSignal, rec.ExitedAt = code, sig, at
		}
		e.StderrTail, e.StderrPath = stderrTail(*rec, 10), rec.StderrPath
		return e
	}
	for {
		if ctx.Err() != nil { // its supervisor gives up (its store is gone)
			stop.TreeOf(ps.OwnerOf(*rec), stop.TimeoutOf(*rec))
			return abandoned(ctx)
		}
		perr := spec.Probe(rctx, rec.Dir, env)
		if perr == nil {
			return nil
		}
		// A probe that the deadline cut short says only that: the one
		// before it says why the process was not ready. (A dial sees the
		// deadline pass before the context's timer has fired.)
		if rctx.Err() != nil || !time.Now().Before(deadline) {
			if ctx.Err() != nil {
				continue
			}
			if last == "" {
				last = perr.Error()
			}
			return notReady(false)
		}
		last = perr.Error()
		if l.Ended() && !treeRuns(rec) {
			return notReady(true)
		}
		select {
		case <-rctx.Done():
		case <-tick.C:
		case <-l.Done():
		}
	}
}

// treeRuns reports whether anything of rec's process tree still runs.
func treeRuns(rec *store.Record) bool {
	m, _, err := ps.MembersNow(ps.OwnerOf(*rec), nil, time.Now())
	return err != nil || len(m) > 0
}
