package run

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"bgrun/ps"
	"bgrun/store"
)

// The store's supervisor is where processes start: the CLI, the dashboard,
// up and resurrect ask it by a request over a socket beside the store (see
// Socket) and read its answer; it stays the parent of what it starts. The
// request and its answer are lines of JSON: the request, then from the
// supervisor "accepted", any number of "say" lines (progress), and a last
// line with the result or the error.

// Call is what a command asks the supervisor.
type Call struct {
	Start *Options `json:"start,omitempty"` // start or restart a process
	// Await asks how a start went that a supervisor killed during it was
	// making (its successor settled it).
	Await *Await `json:"await,omitempty"`
}

// Await names a start: the record and the marker of that start.
type Await struct {
	Name, Marker string
}

// Reply is one line of the supervisor's answer.
type Reply struct {
	// Accepted: the supervisor took the request up. A connection that ends
	// before it was never handled and may be asked again of the next
	// supervisor; Closing says so outright (the supervisor is exiting).
	Accepted bool `json:"accepted,omitempty"`
	Closing  bool `json:"closing,omitempty"`
	// Say is a line of progress for the user.
	Say string `json:"say,omitempty"`
	// Marker is the marker of the start the request began, said as soon as
	// it is written, so that its outcome can be asked again (Await).
	Marker string `json:"marker,omitempty"`
	// Done ends a request that went well, Err one that did not.
	Done *Result    `json:"done,omitempty"`
	Err  *WireError `json:"error,omitempty"`
}

// WireError is an error as it crosses the socket: its kind, its text and,
// for the errors a caller tells apart, their own fields.
type WireError struct {
	Kind     store.Kind       `json:"kind"`
	Msg      string           `json:"msg"`
	Running  bool             `json:"running,omitempty"` // ErrRunning
	Changed  bool             `json:"changed,omitempty"` // store.ErrChanged
	Startup  *StartupError    `json:"startup,omitempty"`
	NotReady *NotReadyError   `json:"not_ready,omitempty"`
	Retry    *GuardRetryError `json:"retry,omitempty"`
}

// ToWire turns err into what crosses the socket.
func ToWire(err error) *WireError {
	w := &WireError{Kind: store.KindOf(err), Msg: err.Error(), Running: errors.Is(err, ErrRunning),
		Changed: errors.Is(err, store.ErrChanged)}
	var gr *GuardRetryError
	var se *StartupError
	var nr *NotReadyError
	switch {
	case errors.As(err, &gr):
		w.Retry = gr
	case errors.As(err, &se):
		w.Startup = se
	case errors.As(err, &nr):
		w.NotReady = nr
	}
	return w
}

// Err turns w back into the error it was, of the same kind and type.
func (w *WireError) Err() error {
	switch {
	case w.Retry != nil:
		return w.Retry
	case w.Startup != nil:
		return w.Startup
	case w.NotReady != nil:
		return w.NotReady
	case w.Running:
		return &sentinel{w.Msg, ErrRunning}
	case w.Changed:
		return &sentinel{w.Msg, store.ErrChanged}
	}
	return store.Errorf(w.Kind, "%s", w.Msg)
}

// sentinel is an error that was err (or wrapped it) where it was made,
// with the text it had there.
type sentinel struct {
	msg string
	err error
}

func (e *sentinel) Error() string         { return e.msg }
func (e *sentinel) Unwrap() error         { return e.err }
func (e *sentinel) ErrorKind() store.Kind { return store.KindOf(e.err) }

// Socket returns the address of the supervisor of the store at dbPath: a
// socket file beside the store, or where that path is too long for a socket
// address (about 100 bytes), an abstract socket named after the store
// (Linux; its peer's user is checked all the same).
func Socket(dbPath string) string {
	p := store.SupervisorSocket(dbPath)
	if len(p) < 100 {
		return p
	}
	return abstractSocket(dbPath)
}

// ErrNoSupervisor is the answer of dial when no supervisor listens.
var ErrNoSupervisor = errors.New("no supervisor runs")

// dial connects to the supervisor of the store at dbPath, and checks that
// it runs as this user.
func dial(dbPath string) (net.Conn, error) {
	c, err := net.DialTimeout("unix", Socket(dbPath), 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSupervisor, err)
	}
	if err := CheckPeer(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// ask sends req to the store's supervisor, starting one when none runs,
// and returns its result; say receives its progress lines (nil for none).
// A supervisor that exits just as it is asked is asked again, replaced;
// one that dies while it handles the request fails the request.
func ask(ctx context.Context, db *store.DB, req Call, say io.Writer) (*Result, error) {
	var last error
	for try := 0; try < 20; try++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := dial(db.Path())
		if err != nil {
			if err := EnsureSupervisor(db.Path()); err != nil {
				return nil, err
			}
			if c, err = dial(db.Path()); err != nil {
				last = err
				time.Sleep(time.Duration(10*(try+1)) * time.Millisecond)
				continue
			}
		}
		res, accepted, marker, err := exchange(ctx, db.Path(), c, req, say)
		switch {
		case errors.Is(err, errDied) && marker != "" && req.Start != nil:
			// The start goes on without its supervisor (or failed with
			// it): the next one settles it, and says how it went.
			req = Call{Await: &Await{Name: req.Start.Name, Marker: marker}}
			continue
		case accepted || err == nil:
			return res, err
		}
		last = err // never handled: ask again
	}
	return nil, fmt.Errorf("the supervisor does not answer: %w", last)
}

// acceptWait bounds how long a supervisor may take to take a request up.
const acceptWait = 15 * time.Second

// errDied is the end of a request whose supervisor died while it handled it.
var errDied = errors.New("the supervisor ended while it handled the request; see bgrun history")

// exchange sends req on c and reads the answer until its end.
func exchange(ctx context.Context, dbPath string, c net.Conn, req Call, say io.Writer) (res *Result, accepted bool, marker string, err error) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, false, "", err
	}
	// A supervisor that does not take the request up at once is stopped
	// (SIGSTOP) or wedged: say so rather than wait forever.
	c.SetReadDeadline(time.Now().Add(acceptWait))
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			if ctx.Err() != nil {
				return nil, accepted, marker, ctx.Err()
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && !accepted {
				return nil, true, "", store.Errorf(store.KindConflict,
					"the supervisor does not answer (is it stopped? its pid is in %s)", store.SupervisorLock(dbPath))
			}
			if accepted {
				return nil, true, marker, errDied
			}
			return nil, false, "", err
		}
		var rep Reply
		if err := json.Unmarshal(line, &rep); err != nil {
			return nil, accepted, marker, fmt.Errorf("bad answer from the supervisor: %w", err)
		}
		switch {
		case rep.Closing:
			return nil, false, "", errors.New("the supervisor is exiting")
		case rep.Accepted:
			accepted = true
			c.SetReadDeadline(time.Time{}) // now the start takes what it takes
		case rep.Marker != "":
			marker = rep.Marker
		case rep.Say != "":
			if say != nil {
				fmt.Fprintln(say, rep.Say)
			}
		case rep.Err != nil:
			return nil, true, marker, rep.Err.Err()
		case rep.Done != nil:
			return rep.Done, true, marker, nil
		}
	}
}

// Request asks the store's supervisor to start (or restart) a process as o
// says, and returns what it did; say receives its progress lines. Relative
// paths are made absolute here, where the caller is.
func Request(ctx context.Context, db *store.DB, o Options, say io.Writer) (Result, error) {
	if err := o.absolute(); err != nil {
		return Result{}, err
	}
	res, err := ask(ctx, db, Call{Start: &o}, say)
	if err != nil {
		return Result{}, err
	}
	return *res, nil
}

// absolute makes o's paths absolute, against the current folder: the
// working directory of a new start, the logs and the logs folder.
func (o *Options) absolute() error {
	if o.Dir == "" && !o.Restart && o.Command != "" {
		o.Dir = "."
	}
	for _, p := range []*string{&o.Dir, &o.Stdout, &o.Stderr, &o.LogsDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("%s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

// SupervisorRuns reports whether the supervisor of the store at dbPath
// runs: it holds its lock.
func SupervisorRuns(dbPath string) bool { return store.Held(store.SupervisorLock(dbPath)) }

// EnsureSupervisor starts the supervisor of the store at dbPath unless one
// runs, and returns once it answers. Commands that race start one: they
// take turns on a lock, and each looks again under it.
func EnsureSupervisor(dbPath string) error {
	if c, err := dial(dbPath); err == nil {
		c.Close()
		return nil
	}
	unlock, _, err := store.Flock(store.SupervisorStartLock(dbPath), true)
	if err != nil {
		return fmt.Errorf("supervisor lock: %w", err)
	}
	defer unlock()
	deadline := time.Now().Add(20 * time.Second)
	var pid int
	var ticks uint64
	for {
		if c, err := dial(dbPath); err == nil {
			c.Close()
			return nil
		}
		switch {
		case pid != 0:
			if !ps.Alive(pid, ticks) {
				return fmt.Errorf("the supervisor ended at once; see %s", store.SupervisorLogPath(dbPath))
			}
		case !SupervisorRuns(dbPath):
			// None runs (one that was exiting has let go of its lock).
			if pid, ticks, err = spawnSupervisor(dbPath); err != nil {
				return err
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the supervisor does not answer; see %s", store.SupervisorLogPath(dbPath))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// spawnSupervisor starts `bgrun --_supervise STORE --db STORE` detached, in
// a session of its own, with its output appended to its log.
func spawnSupervisor(dbPath string) (int, uint64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, fmt.Errorf("find bgrun's executable: %w", err)
	}
	logf, _, err := store.OpenPrivate(store.SupervisorLogPath(dbPath), os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return 0, 0, fmt.Errorf("supervisor log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, "--_supervise", dbPath, "--db", dbPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = filepath.Dir(dbPath)
	Detach(cmd)
	closeInherited()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start the supervisor: %w", err)
	}
	pid := cmd.Process.Pid
	p, _ := ps.Read(pid)
	go cmd.Wait() // reap it if it ends while we wait for it
	return pid, p.StartTicks, nil
}

// EnsureNeeded starts the store's supervisor when a record needs it and
// none runs: every command calls it, so a supervisor that was killed comes
// back with the next command and adopts what runs.
func EnsureNeeded(db *store.DB) error {
	if SupervisorRuns(db.Path()) {
		return nil
	}
	recs, err := db.List()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if ps.Supervised(r) {
			return EnsureSupervisor(db.Path())
		}
	}
	return nil
}
