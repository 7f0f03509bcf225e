package logs

import (
	"context"
	"io"
	"time"

	"bgrun/docker"
	"bgrun/ps"
	"bgrun/store"
)

// CmdOptions are the flags of `bgrun logs [NAME...]` (and `bgrun NAME --logs`).
type CmdOptions struct {
	// Names are the processes whose logs are shown: with one name and no
	// Group, that process's files; else those of every named record (every
	// record when none) of Group, each line prefixed with its name.
	Names          []string
	Group          string
	Lines          int  // the last N lines; 0 for all of one, 20 of each of several
	Stdout, Stderr bool // only this stream; neither or both for both
	Follow         bool // keep printing new lines until ctx ends
	// Marks, when set, gives the separators between runs of the stdout and
	// stderr files; they are shown when both streams are shown or w is a
	// terminal (Terminal), so one stream piped elsewhere stays the file's
	// exact bytes.
	Marks    func(db *store.DB, r store.Record) (stdout, stderr []Mark, err error)
	Terminal bool
	Color    bool // colour the names of several processes
}

// dockerLogsTimeout bounds `docker logs` of a detached container.
const dockerLogsTimeout = time.Minute

// CmdLogs is the logs command: the last lines of a process's stdout and
// stderr (or of several processes'), then (with followAll) what is appended,
// until ctx ends.
func CmdLogs(ctx context.Context, db *store.DB, w io.Writer, o CmdOptions) error {
	if len(o.Names) != 1 || o.Group != "" {
		if o.Lines == 0 {
			o.Lines = 20
		}
		return showStreams(ctx, w, AllOptions{Lines: o.Lines, Follow: o.Follow, Color: o.Color,
			List: streams(db, o.Names, o.Group, o.Stdout, o.Stderr)})
	}
	if err := store.ValidateName(o.Names[0]); err != nil {
		return err
	}
	r, err := db.Get(o.Names[0])
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
	if err := showSources(w, srcs, o.Lines); err != nil {
		return err
	}
	if !o.Follow {
		return nil
	}
	return Follow(ctx, w, srcs)
}
