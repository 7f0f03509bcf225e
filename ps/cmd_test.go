package ps

import (
	"bytes"
	"strings"
	"testing"
)

// TestTableShortensCommandNotName: a narrow terminal costs the command and
// directory their width first; the name stays whole; piped (no width),
// nothing is cut.
func TestTableShortensCommandNotName(t *testing.T) {
	procs := []Process{{ID: 1, Name: "bgr-dashboard-with-a-long-name", Status: "running", Running: true, PID: 42,
		Command:   "exec /usr/local/bin/bgrun --_serve --db /home/u/.bgr/bgr.sqlite --port 3001",
		Directory: "/home/u/projects/" + strings.Repeat("d", 60), Ports: []int{3001}}}
	for _, width := range []int{120, 80} {
		var b bytes.Buffer
		if err := WriteTable(&b, procs, Style{Width: width}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), procs[0].Name) {
			t.Errorf("width %d: the name is cut:\n%s", width, b.String())
		}
		if strings.Contains(b.String(), "--_serve") {
			t.Errorf("width %d: the internal command shows:\n%s", width, b.String())
		}
	}
	var b bytes.Buffer
	if err := WriteTable(&b, procs, Style{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "…") || !strings.Contains(b.String(), procs[0].Directory) {
		t.Errorf("unlimited width cut something:\n%s", b.String())
	}
}

func TestDisplayCommand(t *testing.T) {
	for in, want := range map[string]string{
		"exec /x/bgrun --_serve --db /h/.bgr/bgr.sqlite --port 3001 --host 0.0.0.0": "bgrun --dashboard --port 3001 --host 0.0.0.0",
		"exec /x/bgrun --_serve --db /h/.bgr/bgr.sqlite":                            "bgrun --dashboard",
		"node server.js --_serve2":                                                  "node server.js --_serve2",
	} {
		if got := DisplayCommand(in); got != want {
			t.Errorf("DisplayCommand(%q) = %q, want %q", in, got, want)
		}
	}
}
