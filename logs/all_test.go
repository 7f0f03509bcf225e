package logs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAllShowsLastLinesOldestFileFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	newer, older := filepath.Join(dir, "n.txt"), filepath.Join(dir, "o.txt")
	appendTo(t, newer, "n1\nn2\nn3")
	appendTo(t, older, "o1\n")
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(older, past, past); err != nil {
		t.Fatal(err)
	}
	list := func() ([]Stream, error) {
		return []Stream{{Name: "web", Label: "stdout", Path: newer}, {Name: "db", Label: "stderr", Path: older},
			{Name: "none", Label: "stdout", Path: filepath.Join(dir, "missing.txt")}}, nil
	}
	var buf syncBuffer
	if err := showStreams(context.Background(), &buf, AllOptions{Lines: 2, List: list}); err != nil {
		t.Fatal(err)
	}
	want := "db(err) | o1\nweb     | n2\nweb     | n3\n"
	if buf.String() != want {
		t.Errorf("All = %q, want %q", buf.String(), want)
	}
	var col syncBuffer
	if err := showStreams(context.Background(), &col, AllOptions{Lines: 1, Color: true, List: list}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(col.String(), "\x1b[") || !strings.Contains(col.String(), "\x1b[0m | n3\n") {
		t.Errorf("coloured All = %q", col.String())
	}
}

// TestAllFollowsNewStreamsAndTruncation: a stream listed after following
// began is read from its start; a truncated file is read again from 0.
func TestAllFollowsNewStreamsAndTruncation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, c := filepath.Join(dir, "a.txt"), filepath.Join(dir, "c.txt")
	appendTo(t, a, "old\n")
	var mu sync.Mutex
	streams := []Stream{{Name: "a", Label: "stdout", Path: a}}
	list := func() ([]Stream, error) {
		mu.Lock()
		defer mu.Unlock()
		return append([]Stream(nil), streams...), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	buf := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- showStreams(ctx, buf, AllOptions{Lines: 1, Follow: true, List: list}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	// Append until a line shows: then following has begun.
	waitFor(t, func() bool {
		appendTo(t, a, "ping\n")
		return strings.Contains(buf.String(), "a | ping\n")
	}, func() string { return "no ping in " + quote(buf.String()) })

	appendTo(t, c, "c-first\n")
	mu.Lock()
	streams = append(streams, Stream{Name: "c", Label: "stdout", Path: c})
	mu.Unlock()
	waitFor(t, func() bool { return strings.Contains(buf.String(), "c | c-first\n") },
		func() string { return "new stream not followed: " + quote(buf.String()) })

	if err := os.Truncate(a, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, a, "fresh\n")
	waitFor(t, func() bool { return strings.Contains(buf.String(), "a | fresh\n") },
		func() string { return "truncated file not read again: " + quote(buf.String()) })
}
