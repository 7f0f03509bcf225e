package run

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bgrun/logs"
	"bgrun/store"
)

func TestLogMarks(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "bgr.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 11, 29, 12, 7, 44, 0, time.Local)
	add := func(event store.EventKind, detail store.Detail) {
		at = at.Add(time.Second)
		if err := db.AddEvent(store.Event{Name: "w", Event: event, At: at, Detail: detail}); err != nil {
			t.Fatal(err)
		}
	}
	sizes := func(out, err int64) store.Detail {
		return store.Detail{Command: "x", StdoutSize: &out, StderrSize: &err}
	}
	code := func(c int, sig string) store.Detail { return store.Detail{Code: &c, Signal: sig} }
	add("start", sizes(0, 0))
	add("exit", code(7, ""))
	add("guard_restart", sizes(10, 0))
	add("exit", code(-1, "SIGKILL"))
	add("guard_restart", sizes(20, 0)) // stderr still empty: one mark at 0, the last
	add("stop", store.Detail{})
	add("restart", sizes(30, 5))
	out, errm, err := LogMarks(db, store.Record{Name: "w"})
	if err != nil {
		t.Fatal(err)
	}
	want := []logs.Mark{
		{Offset: 10, Text: "── restarted 2026-11-29 12:07:47 (previous run exited 7) ──"},
		{Offset: 20, Text: "── restarted 2026-11-29 12:07:49 (previous run killed by SIGKILL) ──"},
		{Offset: 30, Text: "── restarted 2026-11-29 12:07:51 (previous run stopped) ──"},
	}
	if len(out) != len(want) {
		t.Fatalf("stdout marks = %+v, want %+v", out, want)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("stdout mark %d = %+v, want %+v", i, out[i], want[i])
		}
	}
	if len(errm) != 2 || errm[0].Offset != 0 || !strings.Contains(errm[0].Text, "SIGKILL") || errm[1].Offset != 5 {
		t.Errorf("stderr marks = %+v", errm)
	}

	// The file shrank (rotated): only the marks since count.
	add("exit", code(1, ""))
	add("guard_restart", sizes(3, 9))
	out, _, _ = LogMarks(db, store.Record{Name: "w"})
	if len(out) != 1 || out[0].Offset != 3 || !strings.Contains(out[0].Text, "previous run exited 1") {
		t.Errorf("after rotation: %+v", out)
	}
	// A delete starts afresh: the next record of the name has no runs yet.
	add("delete", store.Detail{})
	add("start", sizes(0, 0))
	if out, _, _ = LogMarks(db, store.Record{Name: "w"}); len(out) != 0 {
		t.Errorf("after delete: %+v", out)
	}
}
