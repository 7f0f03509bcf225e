// Package ports finds which TCP ports are listened on, and by which process, from the OS's own listing.
//
// One call to List runs one OS query (`ss -tlnpH` on Linux, `lsof` on macOS, `netstat -ano` on
// Windows) and returns every listening socket; callers then filter in Go with PortsOf, Holders
// and Busy. Querying once per process instead would cost 15-30 ms each, because the OS tools
// walk every process's file descriptors to find socket owners.
//
// The package only reads. Killing the holders of a port belongs to package stop, which first
// checks that a pid is really the process it means to signal.
package ports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Listener is one TCP socket in LISTEN state. PID is 0 when the owner is not visible.
//
// Addr is the local address as the OS listing prints it, without brackets, interface or zone
// suffix and port: "127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", or "*" where the
// tool prints a wildcard (ss for a dual-stack socket, lsof for any wildcard). It is kept for
// display; ownership questions use Port and PID only. A socket shared by several processes
// (a prefork server) gives one Listener per pid.
type Listener struct {
	Addr string
	Port int
	PID  int
}

// pollInterval is how often WaitFree asks the OS again. One listing costs 15-30 ms, so 100 ms
// keeps the wait responsive without spending most of a core on it.
const pollInterval = 100 * time.Millisecond

// PortsOf returns the sorted, unique ports held by a pid in pids. A listener whose owner is not
// visible (PID 0) never matches, even if pids holds 0, because it cannot be shown to be ours.
func PortsOf(ls []Listener, pids map[int]bool) []int {
	var ports []int
	for _, l := range ls {
		if l.PID > 0 && pids[l.PID] {
			ports = append(ports, l.Port)
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// Holders returns the sorted, unique pids listening on port. Listeners with an unknown owner
// are left out; Busy still counts them.
func Holders(ls []Listener, port int) []int {
	var pids []int
	for _, l := range ls {
		if l.Port == port && l.PID > 0 {
			pids = append(pids, l.PID)
		}
	}
	slices.Sort(pids)
	return slices.Compact(pids)
}

// Busy reports whether anything listens on port, whether its owner is known or not, so that a
// port held by another user's process (invisible to ss without root) still counts as taken.
func Busy(ls []Listener, port int) bool {
	for _, l := range ls {
		if l.Port == port {
			return true
		}
	}
	return false
}

// BusyError is returned by WaitFree when the port is still listened on at the deadline. PIDs
// holds the known owners (empty when none is visible), so that the caller can name them in its
// message or decide whether they are its own to stop.
type BusyError struct {
	Port   int
	PIDs   []int
	Waited time.Duration
}

// Error names the holders, because "port in use" alone sends the user off to run ss by hand.
func (e *BusyError) Error() string {
	if len(e.PIDs) == 0 {
		return fmt.Sprintf("port %d still in use after %v (owner not visible)", e.Port, e.Waited)
	}
	return fmt.Sprintf("port %d still in use after %v by %s", e.Port, e.Waited, pidList(e.PIDs))
}

// pidList formats pids as "pid 12" or "pids 12, 34" for messages.
func pidList(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	if len(pids) == 1 {
		return "pid " + s[0]
	}
	return "pids " + strings.Join(s, ", ")
}

// WaitFree polls List, pausing 100 ms between listings, until nothing listens on port. It
// returns a *BusyError naming the holders when timeout passes first, the context's error
// (wrapped) when ctx ends first, and List's error at once when the listing itself fails, since a
// missing or broken tool will not mend while we wait. A timeout of zero or less checks once.
func WaitFree(ctx context.Context, port int, timeout time.Duration) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("wait for port %d to be free: invalid port", port)
	}
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		ls, err := List(ctx)
		if err != nil {
			return fmt.Errorf("wait for port %d to be free: %w", port, err)
		}
		if !Busy(ls, port) {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &BusyError{Port: port, PIDs: Holders(ls, port), Waited: time.Since(start).Round(time.Millisecond)}
		}
		t := time.NewTimer(min(pollInterval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for port %d to be free (held by %s): %w", port, holderText(ls, port), ctx.Err())
		case <-t.C:
		}
	}
}

// holderText names the holders of port for an error message.
func holderText(ls []Listener, port int) string {
	if pids := Holders(ls, port); len(pids) > 0 {
		return pidList(pids)
	}
	return "an unseen owner"
}

// command runs name with args and returns its standard output, which is also returned (for
// callers that accept some failures) when the command fails. The error names the command line
// and carries the tool's own stderr, because "exit status 1" alone does not say what broke.
func command(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	// WaitDelay bounds the wait for output pipes after a cancel, in case the tool left a
	// grandchild holding them open.
	cmd.WaitDelay = time.Second
	prepare(cmd)
	out, err := cmd.Output()
	if err == nil {
		return out, nil
	}
	line := name
	if len(args) > 0 {
		line += " " + strings.Join(args, " ")
	}
	if ctx.Err() != nil {
		return out, fmt.Errorf("run %s: %w", line, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if msg := firstLine(ee.Stderr); msg != "" {
			return out, fmt.Errorf("run %s: %w: %s", line, err, msg)
		}
	}
	return out, fmt.Errorf("run %s: %w", line, err)
}

// toolPath returns the path of the tool name: found in PATH, or else in one of dirs, where the
// OS installs it but a daemon's or service's minimal PATH may not reach (ss is /usr/sbin/ss on
// Red Hat systems, lsof /usr/sbin/lsof on macOS). When it is nowhere, name comes back as given,
// so that running it fails with exec.ErrNotFound and a message that names it.
func toolPath(name string, dirs ...string) string {
	if _, err := exec.LookPath(name); err == nil {
		return name
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	return name
}

// firstLine returns the first non-empty line of b, trimmed, so that an error message stays on
// one line however chatty the tool is.
func firstLine(b []byte) string {
	for line := range bytes.Lines(b) {
		if s := strings.TrimSpace(string(line)); s != "" {
			return s
		}
	}
	return ""
}
