package logs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitTimeout bounds every wait in these tests; followAll polls every 150 ms,
// so a condition that has not held after this long never will, even on a
// machine so loaded that a poll comes seconds late.
const waitTimeout = 30 * time.Second

// syncBuffer is a bytes.Buffer that followAll may write to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// following is a followAll running in the background of a test.
type following struct {
	buf    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startFollow runs follow on srcs and returns once it has taken its
// starting offsets, so that whatever the test appends next counts as new.
func startFollow(t *testing.T, srcs ...Source) *following {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &following{buf: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() { f.done <- follow(ctx, f.buf, srcs, func() { close(ready) }) }()
	t.Cleanup(func() { f.stop(t) })
	select {
	case <-ready:
	case err := <-f.done:
		t.Fatalf("follow ended before it started: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("follow did not start")
	}
	return f
}

// stop cancels the follow and returns its result, failing the test if it
// does not end promptly.
func (f *following) stop(t *testing.T) error {
	t.Helper()
	f.cancel()
	select {
	case err := <-f.done:
		f.done <- err // Keep the result for a second stop, such as Cleanup's.
		return err
	case <-time.After(2 * time.Second):
		t.Fatal("follow did not end within 2s of cancel")
		return nil
	}
}

// waitOutput polls until the output of f is exactly want.
func (f *following) waitOutput(t *testing.T, want string) {
	t.Helper()
	waitFor(t, func() bool { return f.buf.String() == want },
		func() string {
			got := f.buf.String()
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			from := max(0, i-80)
			return fmt.Sprintf("output differs at byte %d: got %q, want %q", i, got[from:min(len(got), i+80)], want[from:min(len(want), i+80)])
		})
}

// waitContains polls until the output of f contains s.
func (f *following) waitContains(t *testing.T, s string) {
	t.Helper()
	waitFor(t, func() bool { return strings.Contains(f.buf.String(), s) },
		func() string { return "output " + quote(f.buf.String()) + " lacks " + quote(s) })
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", waitTimeout, describe())
		}
		<-tick.C
	}
}

func quote(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r", `\r`), "\n", `\n`) }

// appendTo appends s to the file at path, creating it, like a process
// writing to its log.
func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFollowAppends(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "old line, shown by Show\n")
	f := startFollow(t, Source{Label: "stdout", Path: path})

	appendTo(t, path, "one\n")
	f.waitOutput(t, "one\n")
	// One source copies bytes as they come, so an unfinished line shows.
	appendTo(t, path, "two ")
	f.waitOutput(t, "one\ntwo ")
	appendTo(t, path, "halves\r\nthree\n")
	f.waitOutput(t, "one\ntwo halves\r\nthree\n")

	if err := f.stop(t); err != nil {
		t.Fatalf("Follow after cancel: %v, want nil", err)
	}
}

func TestFollowTwoSourcesPrefixesWholeLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, errPath := filepath.Join(dir, "api-out.txt"), filepath.Join(dir, "api-err.txt")
	appendTo(t, out, "before\n")
	appendTo(t, errPath, "")
	f := startFollow(t, Source{Label: "stdout", Path: out}, Source{Label: "stderr", Path: errPath})

	appendTo(t, out, "o1\no2\n")
	f.waitOutput(t, "stdout | o1\nstdout | o2\n")

	// An unfinished stderr line is held back while stdout lines go through,
	// so the two never mix on one line.
	appendTo(t, errPath, "e-par")
	appendTo(t, out, "o3\n")
	f.waitContains(t, "stdout | o3\n")
	appendTo(t, out, "o4\n")
	f.waitContains(t, "stdout | o4\n")
	if s := f.buf.String(); strings.Contains(s, "e-par") {
		t.Fatalf("an unfinished line was written: %q", s)
	}
	appendTo(t, errPath, "tial\r\n")
	f.waitOutput(t, "stdout | o1\nstdout | o2\nstdout | o3\nstdout | o4\nstderr | e-partial\r\n")
}

func TestFollowFlushesUnfinishedLineOnCancel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, errPath := filepath.Join(dir, "out.txt"), filepath.Join(dir, "err.txt")
	f := startFollow(t, Source{Label: "stdout", Path: out}, Source{Label: "stderr", Path: errPath})

	appendTo(t, errPath, "no newline yet")
	// followAll polls stdout before stderr in each round; once a stdout line
	// written after a whole round has shown, the stderr text has been read.
	appendTo(t, out, "a\n")
	f.waitContains(t, "stdout | a\n")
	appendTo(t, out, "b\n")
	f.waitContains(t, "stdout | b\n")

	if err := f.stop(t); err != nil {
		t.Fatal(err)
	}
	if got, want := f.buf.String(), "stdout | a\nstdout | b\nstderr | no newline yet\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestFollowTruncation(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "first run, line 1\nfirst run, line 2\n")
	f := startFollow(t, Source{Label: "stdout", Path: path})

	appendTo(t, path, "first run, line 3\n")
	f.waitOutput(t, "first run, line 3\n")
	// A restart that truncates the log and writes less than was there.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, "second\n")
	f.waitOutput(t, "first run, line 3\nsecond\n")
	appendTo(t, path, "more\n")
	f.waitOutput(t, "first run, line 3\nsecond\nmore\n")
}

func TestFollowRewriteLongerThanBefore(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "short\n")
	f := startFollow(t, Source{Label: "stdout", Path: path})

	// Overwrite the file in place with more than it held, so its size never
	// drops below the offset: only the remembered bytes show the rewrite.
	file, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteAt([]byte("rewritten by a restart\nand longer\n"), 0); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	f.waitOutput(t, "rewritten by a restart\nand longer\n")
}

func TestFollowFileCreatedLater(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "later.txt")
	f := startFollow(t, Source{Label: "stdout", Path: path})

	appendTo(t, path, "hello\n")
	f.waitOutput(t, "hello\n")

	// Deleted and created again: the new file is read from its start.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	// The new content is as long as the old, and the new file may get the
	// old inode number, so neither the size nor the identity need change
	// between two polls: the content must still be noticed.
	appendTo(t, path, "again\n")
	f.waitOutput(t, "hello\nagain\n")
}

func TestFollowReplacedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	appendTo(t, path, "old content\n")
	f := startFollow(t, Source{Label: "stdout", Path: path})

	// A rotation: a new file is renamed over the followed one.
	tmp := filepath.Join(dir, "new.txt")
	appendTo(t, tmp, "fresh file, longer than the old one\n")
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	f.waitOutput(t, "fresh file, longer than the old one\n")
}

func TestFollowCancelEndsPromptly(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "x\n")
	f := startFollow(t, Source{Label: "stdout", Path: path}, Source{Label: "stderr", Path: path})
	appendTo(t, path, "y\n")
	f.waitOutput(t, "stdout | y\nstderr | y\n")
	// stop fails the test unless follow returns within 2s of the cancel.
	if err := f.stop(t); err != nil {
		t.Fatalf("Follow after cancel: %v, want nil", err)
	}
}

func TestFollowCanceledBeforeStart(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "x\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, &syncBuffer{}, []Source{{Label: "stdout", Path: path}}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Follow after cancel: %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Follow did not end within 2s of cancel")
	}
}

func TestFollowErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := Follow(ctx, &syncBuffer{}, nil); err == nil {
		t.Error("Follow with no sources: no error")
	}
	if err := Follow(ctx, &syncBuffer{}, []Source{{Label: "stdout", Path: t.TempDir()}}); err == nil {
		t.Error("Follow of a directory: no error")
	}
	if ctx.Err() != nil {
		t.Error("Follow waited for the context instead of failing")
	}
}

func TestFollowWriteError(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- follow(ctx, errWriter{}, []Source{{Label: "stdout", Path: path}}, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("follow ended before it started: %v", err)
	}
	appendTo(t, path, "line\n")
	if err := <-done; err == nil || ctx.Err() != nil {
		t.Fatalf("Follow into a failing writer: err %v, context %v; want a write error first", err, ctx.Err())
	}
}
