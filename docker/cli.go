package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable means the docker CLI is not on PATH, or it cannot reach a daemon, or
// the daemon did not answer in time. Callers show the state of docker records as
// "unknown: docker daemon not reachable" instead of calling them stopped.
var ErrUnavailable = errors.New("docker daemon not reachable")

// ErrNoContainer means the container a record identifies does not exist. Stop and
// Remove treat that as done; Logs returns it, since there are no logs to show.
var ErrNoContainer = errors.New("no such container")

// callTimeout bounds every docker call that should answer at once (ps, inspect), so a
// hung daemon makes bgrun report "unknown" instead of hanging. Docker answers these in
// about 20 ms on an idle machine.
var callTimeout = 5 * time.Second

// removeTimeout bounds `docker rm -f`, which kills the container and deletes its
// filesystem, and so may take a little longer than a query.
var removeTimeout = 10 * time.Second

// logsTimeout bounds `docker logs`, which streams what may be megabytes of output.
var logsTimeout = 30 * time.Second

// composeStopGrace is what `docker compose rm -s` may spend stopping containers, the
// compose default stop timeout plus a margin.
const composeStopGrace = 15 * time.Second

// waitDelay bounds how long a docker call may hold its pipes after it was killed.
const waitDelay = time.Second

// invocation is one run of the docker (or docker-compose) CLI.
type invocation struct {
	program string
	args    []string
	dir     string
	timeout time.Duration
	// stdout and stderr receive the output as it comes when set; stdout is captured
	// and returned otherwise. stderr is always kept too (its end), to tell why a
	// call failed.
	stdout, stderr io.Writer
}

// run executes the call under its timeout and classifies a failure: ErrUnavailable
// when the CLI is missing, cannot reach the daemon, or does not answer in time, and
// ErrNoContainer when the daemon says a container does not exist. out holds stdout
// even when the call failed, since `docker container inspect` prints the containers
// it found before failing on the ones it did not.
func (inv invocation) run(ctx context.Context) (out []byte, err error) {
	what := inv.program + " " + firstWord(inv.args)
	path, err := exec.LookPath(inv.program)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", what, ErrUnavailable, err)
	}
	cctx, cancel := context.WithTimeout(ctx, inv.timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, path, inv.args...)
	cmd.Dir = inv.dir
	cmd.WaitDelay = waitDelay
	var stdout bytes.Buffer
	errTail := &tailBuffer{max: 4096}
	cmd.Stdout = &stdout
	if inv.stdout != nil {
		cmd.Stdout = inv.stdout
	}
	cmd.Stderr = errTail
	if inv.stderr != nil {
		cmd.Stderr = io.MultiWriter(inv.stderr, errTail)
	}
	err = cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return stdout.Bytes(), fmt.Errorf("%s: %w", what, ctx.Err())
	}
	if cctx.Err() != nil {
		return stdout.Bytes(), fmt.Errorf("%s: no answer within %v: %w", what, inv.timeout, ErrUnavailable)
	}
	msg := strings.TrimSpace(errTail.String())
	switch {
	case unreachable(msg):
		return stdout.Bytes(), fmt.Errorf("%s: %w: %s", what, ErrUnavailable, firstLine(msg))
	case noSuchContainer(msg):
		return stdout.Bytes(), fmt.Errorf("%s: %w: %s", what, ErrNoContainer, firstLine(msg))
	case msg != "":
		return stdout.Bytes(), fmt.Errorf("%s: %w: %s", what, err, firstLine(msg))
	}
	return stdout.Bytes(), fmt.Errorf("%s: %w", what, err)
}

// unreachable reports whether the CLI's error text says it could not talk to a daemon.
func unreachable(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{
		"cannot connect to the docker daemon",
		"is the docker daemon running",
		"error during connect",
		"while trying to connect to the docker daemon",
	} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// noSuchContainer reports whether every line of the CLI's error text says that a
// container does not exist, so that a partial answer of inspect can still be used.
func noSuchContainer(msg string) bool {
	if msg == "" {
		return false
	}
	for _, line := range strings.Split(msg, "\n") {
		l := strings.ToLower(line)
		if strings.TrimSpace(l) != "" && !strings.Contains(l, "no such container") && !strings.Contains(l, "no such object") {
			return false
		}
	}
	return true
}

// firstWord returns the first element of args, or "".
func firstWord(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// firstLine returns the first line of s, which is where the CLI says what went wrong.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// tailBuffer keeps the last max bytes written to it, so that a chatty stream costs
// bounded memory while its final error message is kept.
type tailBuffer struct {
	max int
	buf []byte
}

// Write keeps the end of p and of what came before.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// String returns what is kept.
func (t *tailBuffer) String() string { return string(t.buf) }

// validName matches the names Docker accepts for containers. A --name that does not
// match (an unexpanded $VAR, say) cannot name a container, and is never passed to the
// CLI, where it could be read as an option or an ID prefix.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// containerName returns the --name of spec without a leading slash, and whether it is
// a name Docker accepts.
func containerName(spec Spec) (string, bool) {
	name := strings.TrimPrefix(spec.Name, "/")
	return name, validName().MatchString(name)
}

// labelValue returns the bgrun.name label value that identifies the container of a
// docker run without --name: the one on its command line, or else the record's name.
func labelValue(rec Record, spec Spec) string {
	if spec.LabelName != "" {
		return spec.LabelName
	}
	return rec.Name
}

// resolve returns the full IDs of the containers that rec identifies, newest first:
// the one with its --name, or those with its bgrun.name label; all of them when all
// is true, else only the running ones. It looks names up with an anchored filter
// rather than passing them to docker directly, because docker also reads a name as an
// ID prefix and could then act on some other container.
func resolve(ctx context.Context, rec Record, spec Spec, all bool) ([]string, error) {
	args := []string{"ps", "-q", "--no-trunc"}
	if all {
		args = append(args, "-a")
	}
	if spec.Name != "" {
		name, ok := containerName(spec)
		if !ok {
			return nil, nil
		}
		args = append(args, "--filter", "name=^/"+regexp.QuoteMeta(name)+"$")
	} else {
		value := labelValue(rec, spec)
		if value == "" {
			// An empty value would match every container with an empty label.
			return nil, nil
		}
		args = append(args, "--filter", "label="+labelKey+"="+value)
	}
	out, err := invocation{program: "docker", args: args, timeout: callTimeout}.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("find container of %s: %w", rec.Name, err)
	}
	return strings.Fields(string(out)), nil
}

// composeCall runs a compose subcommand for the project of rec, in rec's directory and
// with the options the record's command gave before `up`.
func composeCall(ctx context.Context, rec Record, spec Spec, timeout time.Duration, stdout, stderr io.Writer, sub ...string) error {
	args := append(append([]string{}, spec.ComposeArgs...), sub...)
	inv := invocation{program: spec.Program, args: args, dir: rec.Dir, timeout: timeout, stdout: stdout, stderr: stderr}
	_, err := inv.run(ctx)
	return err
}

// parseRecord parses the command of rec and fails when it runs no container.
func parseRecord(op string, rec Record) (Spec, error) {
	spec, ok := Parse(rec.Command)
	if !ok {
		return Spec{}, fmt.Errorf("%s %s: not a docker run or compose up command: %q", op, rec.Name, rec.Command)
	}
	return spec, nil
}

// Stop stops the container of rec with `docker stop -t N`, where N is timeout rounded
// up to whole seconds, after which Docker kills it; for a compose record it runs
// `docker compose stop` in the record's directory. A container that does not exist is
// already stopped, so that is not an error.
func Stop(ctx context.Context, rec Record, timeout time.Duration) error {
	spec, err := parseRecord("stop", rec)
	if err != nil {
		return err
	}
	n := wholeSeconds(timeout)
	secs := strconv.FormatInt(n, 10)
	wait := time.Duration(n)*time.Second + callTimeout
	if spec.Compose {
		if err := composeCall(ctx, rec, spec, wait, nil, nil, "stop", "-t", secs); err != nil {
			return fmt.Errorf("stop %s: %w", rec.Name, err)
		}
		return nil
	}
	ids, err := resolve(ctx, rec, spec, false)
	if err != nil || len(ids) == 0 {
		return err
	}
	args := append([]string{"stop", "-t", secs}, ids...)
	_, err = invocation{program: "docker", args: args, timeout: wait}.run(ctx)
	if err != nil && !errors.Is(err, ErrNoContainer) {
		return fmt.Errorf("stop %s: %w", rec.Name, err)
	}
	return nil
}

// wholeSeconds returns d rounded up to whole seconds, as docker stop -t wants them,
// between 0 and what docker's int flag holds, so no timeout can overflow.
func wholeSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	n := int64(d / time.Second)
	if d%time.Second != 0 {
		n++
	}
	return min(n, math.MaxInt32)
}

// Remove force-removes the container that rec identifies, by its --name or by its
// bgrun.name label, so that starting the record again meets no name conflict; for a
// compose record it runs `docker compose rm -f -s`, which removes that project's
// containers. It never removes anything else, and a missing container is not an error.
func Remove(ctx context.Context, rec Record) error {
	spec, err := parseRecord("remove", rec)
	if err != nil {
		return err
	}
	if spec.Compose {
		if err := composeCall(ctx, rec, spec, composeStopGrace+callTimeout, nil, nil, "rm", "-f", "-s"); err != nil {
			return fmt.Errorf("remove %s: %w", rec.Name, err)
		}
		return nil
	}
	ids, err := resolve(ctx, rec, spec, true)
	if err != nil || len(ids) == 0 {
		return err
	}
	args := append([]string{"rm", "-f"}, ids...)
	_, err = invocation{program: "docker", args: args, timeout: removeTimeout}.run(ctx)
	if err != nil && !errors.Is(err, ErrNoContainer) {
		return fmt.Errorf("remove %s: %w", rec.Name, err)
	}
	return nil
}

// Logs copies the output of rec's container to stdout and stderr with `docker logs`
// (the container's stderr goes to stderr); when lines > 0, only the last lines lines,
// counted over both streams together as Docker does. For a compose record it runs
// `docker compose logs`. It returns ErrNoContainer when there is no container; the
// CLI's own error messages also reach stderr, since they share the stream.
func Logs(ctx context.Context, rec Record, lines int, stdout, stderr io.Writer) error {
	spec, err := parseRecord("logs", rec)
	if err != nil {
		return err
	}
	var tail []string
	if lines > 0 {
		tail = []string{"--tail", fmt.Sprint(lines)}
	}
	if spec.Compose {
		args := append([]string{"logs", "--no-color"}, tail...)
		if err := composeCall(ctx, rec, spec, logsTimeout, stdout, stderr, args...); err != nil {
			return fmt.Errorf("logs of %s: %w", rec.Name, err)
		}
		return nil
	}
	ids, err := resolve(ctx, rec, spec, true)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("logs of %s: %w", rec.Name, ErrNoContainer)
	}
	// ps lists the newest container first; it is the one the record last started.
	args := append(append([]string{"logs"}, tail...), ids[0])
	inv := invocation{program: "docker", args: args, timeout: logsTimeout, stdout: stdout, stderr: stderr}
	if _, err := inv.run(ctx); err != nil {
		return fmt.Errorf("logs of %s: %w", rec.Name, err)
	}
	return nil
}
