package run

import (
	"io"
	"os"
	"strings"
	"time"

	"bgrun/ps"
	"bgrun/store"
)

// withMarker returns env with BGR_INSTANCE set to instance, and no other
// value of it (a caller's own marker must not leak into a new start).
func withMarker(env []string, instance string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, ps.MarkerVar+"=") {
			out = append(out, kv)
		}
	}
	return append(out, ps.MarkerVar+"="+instance)
}

// helperEnv is the environment of a bgrun helper: the given one (the
// caller's when nil) with the helper marker.
func helperEnv(env []string) []string {
	if env == nil {
		env = os.Environ()
	}
	return withMarker(env, ps.HelperMarker)
}

// stderrTailMax bounds how much of a failed start's stderr is read.
const stderrTailMax = 64 << 10

// stderrTail returns the last n lines that r's last start wrote to its
// stderr log: only what came after the size the file had at the spawn, so
// an earlier attempt's lines never show up as this one's. A file that shrank
// since (rotated) is read from its start.
func stderrTail(r store.Record, n int) string {
	f, err := os.Open(r.StderrPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	from := r.StderrOffset
	if from > fi.Size() {
		from = 0
	}
	from = max(from, fi.Size()-stderrTailMax)
	b, _ := io.ReadAll(io.NewSectionReader(f, from, fi.Size()-from))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// failedStart is the error for r, whose last start ended within its startup
// window of length window, as recorded (by the CLI or a supervisor).
func failedStart(r store.Record, window time.Duration) *StartupError {
	return &StartupError{Name: r.Name, Code: r.ExitCode, Signal: r.ExitSignal, Window: window,
		StderrTail: stderrTail(r, 10), StderrPath: r.StderrPath}
}
