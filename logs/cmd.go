package logs

import (
	"context"
	"io"
	"time"

	"bgrun/docker"
	"bgrun/ps"
	"bgrun/store"
)

// CmdOptions are the flags of `bgrun logs NAME` (and `bgrun NAME --logs`).
type CmdOptions struct {
	Name           string
	Lines          int  // the last N lines; 0 for all
	Stdout, Stderr bool // only this stream; neither or both for both
	Follow         bool // keep printing new lines until ctx ends
	// Marks, when set, gives the separators between runs of the stdout and
	// stderr files; they are shown when both streams are shown or w is a
	// terminal (Terminal), so one stream piped elsewhere stays the file's
	// exact bytes.
	Marks    func(db *store.DB, r store.Record) (stdout, stderr []Mark, err error)
	Terminal bool
}

// dockerLogsTimeout bounds `docker logs` of a detached container.
const dockerLogsTimeout = time.Minute

// CmdLogs is the logs command: the last lines of a process's stdout and
// stderr, then (with Follow) what is appended, until ctx ends.
func CmdLogs(ctx context.Context, db *store.DB, w io.Writer, o CmdOptions) error {
	if err := store.ValidateName(o.Name); err != nil {
		return err
	}
	r, err := db.Get(o.Name)
	if err != nil {
		return err
	}
	out := o.Stdout || !o.Stderr
	errs := o.Stderr || !o.Stdout
	if spec, ok := docker.Parse(r.Command); ok && spec.Detached && !o.Follow {
		// A detached container's output is in Docker, not in the client's
		// log files (which hold only the container id).
		ctx, cancel := context.WithTimeout(ctx, dockerLogsTimeout)
		defer cancel()
		var so, se io.Writer = w, w
		if !errs {
			se = io.Discard
		} else if !out {
			so = io.Discard
		}
		return docker.Logs(ctx, ps.DockerRecord(r), o.Lines, so, se)
	}
	var srcs []Source
	if out {
		srcs = append(srcs, Source{Label: "stdout", Path: r.StdoutPath})
	}
	if errs {
		srcs = append(srcs, Source{Label: "stderr", Path: r.StderrPath})
	}
	if o.Marks != nil && (len(srcs) > 1 || o.Terminal) {
		mout, merr, err := o.Marks(db, r)
		if err != nil {
			return err
		}
		for i := range srcs {
			srcs[i].Marks = map[string][]Mark{"stdout": mout, "stderr": merr}[srcs[i].Label]
		}
	}
	if err := Show(w, srcs, o.Lines); err != nil {
		return err
	}
	if !o.Follow {
		return nil
	}
	return Follow(ctx, w, srcs)
}
