package logs

import (
	"bytes"
	"os"
	"testing"
)

func TestShowMarksRuns(t *testing.T) {
	t.Parallel()
	// Three runs: "a\nb\n" (0-4), "c" without a newline (4-5), "d\n" (5-7).
	path := writeFile(t, "a\nb\ncd\n")
	marks := []Mark{{Offset: 4, Text: "── run 2 ──"}, {Offset: 5, Text: "── run 3 ──"}}
	for _, tt := range []struct {
		n    int
		want string
	}{
		{0, "a\nb\n── run 2 ──\nc\n── run 3 ──\nd\n"},
		{1, "── run 2 ──\nc\n── run 3 ──\nd\n"}, // the last line, "cd", starts run 2
		{2, "b\n── run 2 ──\nc\n── run 3 ──\nd\n"},
	} {
		var buf bytes.Buffer
		if err := showSources(&buf, []Source{{Label: "stdout", Path: path, Marks: marks}}, tt.n); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("Show(n=%d) = %q, want %q", tt.n, buf.String(), tt.want)
		}
	}
	// A run that has written nothing yet shows its mark last.
	var buf bytes.Buffer
	src := Source{Label: "stdout", Path: path, Marks: []Mark{{Offset: 7, Text: "── now ──"}}}
	if err := showSources(&buf, []Source{src, {Label: "stderr", Path: path}}, 1); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("cd\n── now ──\n\n==> stderr")) {
		t.Errorf("mark at the end missing: %q", buf.String())
	}
	// The file itself is untouched.
	if got := readFile(t, path); got != "a\nb\ncd\n" {
		t.Errorf("log file changed: %q", got)
	}
}

func TestMarksIn(t *testing.T) {
	marks := []Mark{{Offset: 5}, {Offset: 10}, {Offset: 20}, {Offset: 30}}
	got := MarksIn(marks, 10, 25)
	if len(got) != 2 || got[0].Offset != 10 || got[1].Offset != 20 {
		t.Errorf("MarksIn = %v, want offsets 10 and 20", got)
	}
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
