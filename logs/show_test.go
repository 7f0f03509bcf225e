package logs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// errWriter fails every write, like a closed pipe.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestShowOneSourceHasNoHeader(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "one\ntwo\nthree\n")
	var buf bytes.Buffer
	if err := showSources(&buf, []Source{{Label: "stdout", Path: path}}, 2); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "two\nthree\n"; got != want {
		t.Errorf("Show = %q, want %q", got, want)
	}
}

func TestShowOneSourceKeepsBytes(t *testing.T) {
	t.Parallel()
	// No newline is added: the output is the file's bytes, for pipes.
	path := writeFile(t, "a\r\nb")
	var buf bytes.Buffer
	if err := showSources(&buf, []Source{{Label: "stderr", Path: path}}, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "a\r\nb"; got != want {
		t.Errorf("Show = %q, want %q", got, want)
	}
}

func TestShowOneSourceEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := showSources(&buf, []Source{{Label: "stdout", Path: writeFile(t, "")}}, 10); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("Show of an empty file wrote %q, want nothing", buf.String())
	}
}

func TestShowOneSourceMissing(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	err := showSources(&buf, []Source{{Label: "stderr", Path: filepath.Join(t.TempDir(), "gone.txt")}}, 10)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Show of a missing file wrote %q, want nothing", buf.String())
	}
}

func TestShowTwoSources(t *testing.T) {
	t.Parallel()
	out := writeFile(t, "o1\no2\no3\n")
	errPath := writeFile(t, "e1\ne2") // No final newline: the output adds one.
	var buf bytes.Buffer
	if err := showSources(&buf, []Source{{Label: "stdout", Path: out}, {Label: "stderr", Path: errPath}}, 2); err != nil {
		t.Fatal(err)
	}
	want := "==> stdout: " + out + " <==\n" +
		"o2\no3\n" +
		"\n" +
		"==> stderr: " + errPath + " <==\n" +
		"e1\ne2\n"
	if got := buf.String(); got != want {
		t.Errorf("Show =\n%s\nwant\n%s", got, want)
	}
}

func TestShowTwoSourcesMissingAndEmpty(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "api-out.txt")
	empty := writeFile(t, "")
	var buf bytes.Buffer
	if err := showSources(&buf, []Source{{Label: "stdout", Path: missing}, {Label: "stderr", Path: empty}}, 0); err != nil {
		t.Fatalf("missing and empty files are shown, not errors: %v", err)
	}
	want := "==> stdout: " + missing + " <==\n" +
		"(no log file)\n" +
		"\n" +
		"==> stderr: " + empty + " <==\n" +
		"(empty)\n"
	if got := buf.String(); got != want {
		t.Errorf("Show =\n%s\nwant\n%s", got, want)
	}
}

func TestShowUnreadableSourceStillShowsOthers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // A directory is not a log file.
	out := writeFile(t, "fine\n")
	var buf bytes.Buffer
	err := showSources(&buf, []Source{{Label: "stdout", Path: out}, {Label: "stderr", Path: dir}}, 0)
	if err == nil {
		t.Fatal("no error for an unreadable source")
	}
	want := "==> stdout: " + out + " <==\n" +
		"fine\n" +
		"\n" +
		"==> stderr: " + dir + " <==\n" +
		"(cannot read log file)\n"
	if got := buf.String(); got != want {
		t.Errorf("Show =\n%s\nwant\n%s", got, want)
	}
}

func TestShowWriteError(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "x\n")
	for _, srcs := range [][]Source{
		{{Label: "stdout", Path: path}},
		{{Label: "stdout", Path: path}, {Label: "stderr", Path: path}},
	} {
		if err := showSources(errWriter{}, srcs, 0); err == nil {
			t.Errorf("%d sources: no error from a failing writer", len(srcs))
		}
	}
}

func TestShowNoSources(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := showSources(&buf, nil, 10); err != nil || buf.Len() != 0 {
		t.Errorf("Show(nil) = %q, %v; want nothing", buf.String(), err)
	}
}
