package dash

import (
	"strings"
	"testing"
	"time"
)

// TestLogMarks: the log drawer's answer carries the separators between runs
// that fall in its text, by offset, once; the file holds only the output.
func TestLogMarks(t *testing.T) {
	e := newEnv(t, "")
	e.start("mk", "echo first; exec sleep 60")
	waitFor(t, 5*time.Second, "first output", func() bool {
		var c logChunk
		e.must(200, "GET", "/api/logs/mk", nil, &c)
		return c.Text == "first\n"
	})
	e.must(200, "POST", "/api/restart/mk", nil, nil)
	var c logChunk
	waitFor(t, 5*time.Second, "second output", func() bool {
		e.must(200, "GET", "/api/logs/mk", nil, &c)
		return c.Text == "first\nfirst\n"
	})
	if len(c.Marks) != 1 || c.Marks[0].Offset != 6 || !strings.HasPrefix(c.Marks[0].Text, "── restarted ") {
		t.Fatalf("marks = %+v, want one restart separator at offset 6", c.Marks)
	}
	// A reader going on from offset 6 gets it; one past it does not.
	e.must(200, "GET", "/api/logs/mk?offset=6", nil, &c)
	if len(c.Marks) != 1 {
		t.Errorf("from 6: marks = %+v", c.Marks)
	}
	e.must(200, "GET", "/api/logs/mk?offset=12", nil, &c)
	if len(c.Marks) != 0 {
		t.Errorf("from the end: marks = %+v", c.Marks)
	}
	e.must(200, "GET", "/api/logs/mk?tab=stderr", nil, &c)
	if len(c.Marks) != 0 {
		t.Errorf("empty stderr: marks = %+v", c.Marks)
	}
	// The dashboard's restart wants it running; its stop does not.
	if r, _ := e.db.Get("mk"); !r.Wanted {
		t.Error("restarted from the dashboard, yet not wanted")
	}
	e.must(200, "POST", "/api/stop/mk", nil, nil)
	if r, _ := e.db.Get("mk"); r.Wanted {
		t.Error("stopped from the dashboard, yet still wanted")
	}
}
