package watch

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"bgrun/ps"
	"bgrun/store"
)

// GuardOptions are the flags of `bgrun guard NAME [--off]` (`bgrun NAME
// --guard`, `bgrun NAME --guard-off`).
type GuardOptions struct {
	Name string
	Off  bool
}

// CmdGuard is the guard command: turn the crash guard of a process on or
// off, attaching a supervisor to it when it runs without one.
func CmdGuard(ctx context.Context, db *store.DB, w io.Writer, o GuardOptions) error {
	if err := store.ValidateName(o.Name); err != nil {
		return err
	}
	on := !o.Off
	res, err := SetGuard(db, o.Name, on)
	if err != nil {
		return err
	}
	var msg string
	switch {
	case on && res.Changed:
		msg = "Guard enabled for %s: it is restarted when it crashes."
	case on && res.Attached:
		msg = "Guard is active for %s; a new supervisor is attached to it."
	case on:
		msg = "Guard is already active for %s."
	case res.Changed:
		msg = "Guard disabled for %s."
	default:
		msg = "Guard is already off for %s."
	}
	_, err = fmt.Fprintf(w, msg+"\n", o.Name)
	return err
}

// HistoryOptions are the flags of `bgrun history [NAME]`.
type HistoryOptions struct {
	Name  string // "" for every process
	Lines int    // at most this many events; 50 when zero
	JSON  bool
}

// CmdHistory is the history command: the events of one process or of all,
// newest first.
func CmdHistory(ctx context.Context, db *store.DB, w io.Writer, o HistoryOptions) error {
	if o.Lines == 0 {
		o.Lines = 50
	}
	evs, err := db.Events(o.Name, o.Lines)
	if err != nil {
		return err
	}
	if o.JSON {
		return ps.WriteJSON(w, evs)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, ev := range evs {
		detail := ev.Detail.String()
		fmt.Fprintf(tw, "%s\t%s\t%s\tpid %d\t%s\n", ev.At.Local().Format(time.RFC3339), ev.Name, ev.Event, ev.PID, detail)
	}
	return tw.Flush()
}
