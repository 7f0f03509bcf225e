package ps

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"bgrun/store"
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
		if err := writeTable(&b, procs, Style{Width: width}); err != nil {
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
	if err := writeTable(&b, procs, Style{}); err != nil {
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
		if got := displayCommand(in); got != want {
			t.Errorf("DisplayCommand(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJSONHasEveryField: the JSON of a process that never ran still has
// every field the README lists, so a pipeline never meets a missing key.
func TestJSONHasEveryField(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, fromRecord(store.Record{Name: "x"})); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(`id name command directory group parent pid pids status status_detail
		next_restart_at running ports memory cpu started_at uptime_seconds stdout_path stderr_path config_path
		guarded watched supervised supervisor_pid restarts backoff gave_up last_exit docker leader instance
		log_max_size log_keep ready ready_timeout_ms health_interval_ms max_memory wanted`) {
		if _, ok := got[f]; !ok {
			t.Errorf("field %q missing from %s", f, b.String())
		}
	}
}
