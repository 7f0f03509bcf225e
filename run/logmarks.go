package run

import (
	"fmt"
	"os"
	"time"

	"bgrun/logs"
	"bgrun/store"
)

// fileSize returns the size of an open log file, 0 when it cannot be read.
func fileSize(f *os.File) int64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// startDetail is the history detail of a start of rec, which spawn has just
// spawned: its command and the sizes its log files had before the spawn,
// where this run's output begins. Every caller that records a start (the
// CLI, the dashboard, the supervisor) uses it, so that `bgrun logs` can mark
// every run.
func startDetail(rec store.Record) store.Detail {
	out, errSize := rec.StdoutSize, rec.StderrSize
	return store.Detail{Command: rec.Command, StdoutSize: &out, StderrSize: &errSize}
}

// startEvents are the history events of a spawn, which carry log sizes.
var startEvents = map[store.EventKind]string{store.EventStart: "started", store.EventRestart: "restarted",
	store.EventGuardRestart: "restarted", store.EventFailed: "restarted"}

// markHistory is how many history events LogMarks reads: enough for the
// runs of any log that has not been rotated away.
const markHistory = 5000

// LogMarks returns, for the stdout and the stderr file of rec, a separator
// line at the offset where each run after the first begins (the last of
// several that wrote nothing to it), such as
// `── restarted 2026-11-29 12:07:44 (previous run exited 7) ──`. They come from
// the history (startDetail), never from the log files, which hold only what
// the process wrote.
func LogMarks(db *store.DB, rec store.Record) (stdout, stderr []logs.Mark, err error) {
	evs, err := db.Events(rec.Name, markHistory)
	if err != nil {
		return nil, nil, err
	}
	var lastOut, lastErr int64 = -1, -1
	prev, runs := "", 0
	for i := len(evs) - 1; i >= 0; i-- { // oldest first
		e := evs[i]
		switch e.Event {
		case store.EventDelete:
			stdout, stderr, lastOut, lastErr, runs = nil, nil, -1, -1, 0
		case store.EventExit:
			prev = "previous run " + howEnded(e.Detail)
		case store.EventStop:
			prev = "previous run stopped"
		}
		verb, ok := startEvents[e.Event]
		if !ok {
			continue
		}
		if e.Detail.StdoutSize != nil && e.Detail.StderrSize != nil {
			out, errSize := *e.Detail.StdoutSize, *e.Detail.StderrSize
			text := "── " + verb + " " + e.At.Local().Format(time.DateTime)
			if prev != "" {
				text += " (" + prev + ")"
			}
			text += " ──"
			// A file smaller than at the last start was rotated or
			// truncated since: the older marks point into what is gone.
			if out < lastOut {
				stdout = nil
			}
			if errSize < lastErr {
				stderr = nil
			}
			if runs > 0 {
				stdout = addMark(stdout, logs.Mark{Offset: out, Text: text})
				stderr = addMark(stderr, logs.Mark{Offset: errSize, Text: text})
			}
			lastOut, lastErr = out, errSize
		}
		runs++
		prev = ""
		if e.Event == store.EventFailed {
			prev = "previous run failed at startup, " + howEnded(e.Detail)
		}
	}
	return stdout, stderr, nil
}

// addMark appends m; of several runs that began at the same offset (none of
// them wrote to this file) only the last is marked.
func addMark(marks []logs.Mark, m logs.Mark) []logs.Mark {
	if n := len(marks); n > 0 && marks[n-1].Offset == m.Offset {
		marks[n-1] = m
		return marks
	}
	return append(marks, m)
}

// howEnded describes an exit event's detail: "exited 7", "killed by SIGKILL".
func howEnded(d store.Detail) string {
	switch {
	case d.Signal != "":
		return "killed by " + d.Signal
	case d.Code != nil:
		return fmt.Sprintf("exited %d", *d.Code)
	}
	return "ended"
}
