package logs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// line returns the i-th numbered line the tests write: 31 bytes, so that
// line boundaries fall anywhere in a block.
func line(i int) string { return fmt.Sprintf("line %08d ................\n", i) }

// writeLines appends lines [from, to) to path, one write per line, as a
// process does with O_APPEND.
func writeLines(t testing.TB, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := from; i < to; i++ {
		if _, err := f.WriteString(line(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// numbers parses the numbered lines of b, skipping a first line cut by a
// rotation (it does not start with "line "), and fails on any other
// malformed line.
func numbers(t *testing.T, what string, b []byte) []int {
	t.Helper()
	var out []int
	for i, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		n := -1
		if fields := strings.Fields(l); len(fields) >= 2 && fields[0] == "line" {
			n, _ = strconv.Atoi(fields[1])
		}
		if n < 0 || l+"\n" != line(n) {
			if i == 0 {
				continue
			}
			t.Fatalf("%s: malformed line %d: %q", what, i, l)
		}
		out = append(out, n)
	}
	return out
}

// bothModes runs f with the collapse-range rotation (where the file system
// has it) and with the copy-and-truncate fallback.
func bothModes(t *testing.T, f func(t *testing.T)) {
	t.Run("collapse", f)
	t.Run("truncate", func(t *testing.T) {
		tryCollapse = false
		defer func() { tryCollapse = true }()
		f(t)
	})
}

func TestRotateNothingToDo(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a-out.txt")
	if rotated, err := Rotate(p, 10, 3); rotated || err != nil {
		t.Fatalf("missing file: rotated=%v err=%v", rotated, err)
	}
	writeLines(t, p, 0, 10) // 310 bytes
	for _, max := range []int64{0, -1, 310, 1 << 20} {
		if rotated, err := Rotate(p, max, 3); rotated || err != nil {
			t.Fatalf("max %d: rotated=%v err=%v", max, rotated, err)
		}
	}
	if fi, _ := os.Stat(p); fi.Size() != 310 {
		t.Fatalf("size %d after no rotation, want 310", fi.Size())
	}
	if _, err := os.Stat(RotatedPath(p, 1)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists after no rotation", RotatedPath(p, 1))
	}
	if rotated, err := Rotate(dir, 1, 3); rotated || err != nil {
		t.Fatalf("a folder: rotated=%v err=%v", rotated, err)
	}
}

// TestRotateKeepsLastBytes rotates a file far over its cap: the copy holds
// at most max bytes, the last ones from a whole line, and the copy followed
// by the file is the end of what was written, nothing lost between them.
func TestRotateKeepsLastBytes(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a-out.txt")
		writeLines(t, p, 0, 1000) // 32000 bytes
		const max = 3000
		rotated, err := Rotate(p, max, 3)
		if err != nil || !rotated {
			t.Fatalf("rotated=%v err=%v", rotated, err)
		}
		old, _ := os.ReadFile(RotatedPath(p, 1))
		cur, _ := os.ReadFile(p)
		if len(old) > max || len(old) == 0 {
			t.Fatalf("rotated copy holds %d bytes, want 1..%d", len(old), max)
		}
		if !strings.HasPrefix(string(old), "line ") {
			t.Fatalf("rotated copy does not start with a whole line: %q", old[:40])
		}
		var all strings.Builder
		for i := range 1000 {
			all.WriteString(line(i))
		}
		if !strings.HasSuffix(all.String(), string(old)+string(cur)) {
			t.Fatalf("copy + file (%d + %d bytes) is not the end of what was written", len(old), len(cur))
		}
		// The file keeps at most max bytes and a block (collapse-range).
		if len(cur) >= max+4096 {
			t.Fatalf("the file still holds %d bytes", len(cur))
		}
		// It goes on at the new end.
		writeLines(t, p, 1000, 1001)
		cur, _ = os.ReadFile(p)
		if !strings.HasSuffix(string(cur), line(1000)) || int64(len(cur)) > max+4096 {
			t.Fatalf("after an append the file is %q", cur)
		}
	})
}

// TestRotateShiftsAndDrops rotates more often than it keeps copies: exactly
// keep copies remain, newest in .1, and the stream over them is in order.
func TestRotateShiftsAndDrops(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a-out.txt")
		const max, keep = 1000, 3
		next := 0
		for range 6 {
			writeLines(t, p, next, next+100) // 3200 bytes
			next += 100
			if rotated, err := Rotate(p, max, keep); err != nil || !rotated {
				t.Fatalf("rotated=%v err=%v", rotated, err)
			}
		}
		var stream []byte
		for i := keep; i >= 1; i-- {
			b, err := os.ReadFile(RotatedPath(p, i))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > max {
				t.Fatalf(".%d holds %d bytes, over %d", i, len(b), max)
			}
			stream = append(stream, b...)
		}
		if _, err := os.Stat(RotatedPath(p, keep+1)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf(".%d exists: %v", keep+1, err)
		}
		cur, _ := os.ReadFile(p)
		stream = append(stream, cur...)
		nums := numbers(t, "stream", stream)
		for i := 1; i < len(nums); i++ {
			if nums[i] <= nums[i-1] {
				t.Fatalf("line %d follows line %d", nums[i], nums[i-1])
			}
		}
		if last := nums[len(nums)-1]; last != next-1 {
			t.Fatalf("the last line is %d, want %d", last, next-1)
		}
	})
}

// TestRotateSlowWriterLosesNothing rotates a file each time it is found a
// little past its cap, as the supervisor's checks find the log of a process
// that writes slowly: with collapse-range the kept copies and the file hold
// every line since the oldest kept copy began, nothing dropped.
func TestRotateSlowWriterLosesNothing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a-out.txt")
	writeLines(t, p, 0, 1)
	if !collapseSupported(p) {
		t.Skip("the file system of the temporary folder cannot collapse a range")
	}
	const max, keep = 16 << 10, 3
	next, rotations := 1, 0
	for range 60 {
		writeLines(t, p, next, next+200) // 6200 bytes, about a third of the cap
		next += 200
		rotated, err := Rotate(p, max, keep)
		if err != nil {
			t.Fatal(err)
		}
		if rotated {
			rotations++
		}
	}
	if rotations < keep+1 {
		t.Fatalf("%d rotations, want more than %d", rotations, keep)
	}
	var stream []byte
	for i := keep; i >= 1; i-- {
		b, _ := os.ReadFile(RotatedPath(p, i))
		if len(b) > max {
			t.Fatalf(".%d holds %d bytes, over %d", i, len(b), max)
		}
		stream = append(stream, b...)
	}
	cur, _ := os.ReadFile(p)
	stream = append(stream, cur...)
	nums := numbers(t, "stream", stream)
	for i := 1; i < len(nums); i++ {
		if nums[i] != nums[i-1]+1 {
			t.Fatalf("line %d follows line %d: lines lost", nums[i], nums[i-1])
		}
	}
	if nums[len(nums)-1] != next-1 {
		t.Fatalf("the last line is %d, want %d", nums[len(nums)-1], next-1)
	}
}

// TestRotateKeepZero empties the file and keeps no copy.
func TestRotateKeepZero(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a-out.txt")
		writeLines(t, p, 0, 1000)
		if rotated, err := Rotate(p, 1000, 0); err != nil || !rotated {
			t.Fatalf("rotated=%v err=%v", rotated, err)
		}
		if _, err := os.Stat(RotatedPath(p, 1)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a copy was kept: %v", err)
		}
		// A collapse-range rotation leaves less than a block in the file.
		if fi, _ := os.Stat(p); fi.Size() >= 4096 {
			t.Fatalf("the file holds %d bytes", fi.Size())
		}
	})
}

// TestRotateWhileWriting rotates a file that a writer appends to as fast as
// it can. Every rotated copy stays under the cap; the lines on disk are
// whole and in order. With collapse-range (ext4, xfs) the newest copy and
// the file join exactly after every rotation: no line is lost between them.
// The copy-and-truncate fallback may lose the lines written in its last
// window, which the test counts and logs.
func TestRotateWhileWriting(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a-out.txt")
		const max, keep, total = 64 << 10, 3, 60_000 // 1.9 MB
		writeLines(t, p, 0, 1)
		var done atomic.Bool
		go func() {
			defer done.Store(true)
			writeLines(t, p, 1, total)
		}()
		rotations, gaps := 0, 0
		for !done.Load() {
			rotated, err := Rotate(p, max, keep)
			if err != nil {
				t.Fatal(err)
			}
			if !rotated {
				continue
			}
			rotations++
			// The newest copy and the start of the file join: the lines at
			// the boundary follow each other.
			old, _ := os.ReadFile(RotatedPath(p, 1))
			if len(old) > max {
				t.Fatalf(".1 holds %d bytes, over %d", len(old), max)
			}
			cur, _ := os.ReadFile(p)
			i := bytes.IndexByte(cur, '\n')
			if i < 0 {
				continue // nothing whole written since
			}
			joined := numbers(t, "boundary", append(old, cur[:i+1]...))
			if len(joined) < 2 {
				continue
			}
			a, b := joined[len(joined)-2], joined[len(joined)-1]
			switch {
			case b <= a:
				t.Fatalf("line %d follows line %d across a rotation", b, a)
			case b != a+1 && tryCollapseUsed(p):
				t.Fatalf("lines %d..%d lost across a collapse rotation", a+1, b-1)
			case b != a+1:
				gaps++
			}
		}
		if rotations == 0 {
			t.Fatal("no rotation happened")
		}
		t.Logf("%d rotations, %d with lines lost at the boundary", rotations, gaps)
		// Each file's lines are whole and in order, and so is the stream
		// over them (a line cut where a copy dropped its front is skipped).
		var nums []int
		for i := keep; i >= 0; i-- {
			f := p
			if i > 0 {
				f = RotatedPath(p, i)
			}
			b, _ := os.ReadFile(f)
			if j := bytes.LastIndexByte(b, '\n'); i > 0 && j >= 0 {
				b = b[:j+1]
			}
			nums = append(nums, numbers(t, f, b)...)
		}
		for i := 1; i < len(nums); i++ {
			if nums[i] <= nums[i-1] {
				t.Fatalf("line %d follows line %d", nums[i], nums[i-1])
			}
		}
		if nums[len(nums)-1] != total-1 {
			t.Fatalf("the last line on disk is %d, want %d", nums[len(nums)-1], total-1)
		}
	})
}

// tryCollapseUsed reports whether rotations of path cut ranges rather than
// truncating: the test mode allows it and its file system supports it.
func tryCollapseUsed(path string) bool {
	if !tryCollapse {
		return false
	}
	return collapseSupported(path)
}

func TestTailRotated(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a-out.txt")
	os.WriteFile(RotatedPath(p, 2), []byte("1\n2\n"), 0o600)
	os.WriteFile(RotatedPath(p, 1), []byte("3\n4\npart"), 0o600)
	os.WriteFile(p, []byte("ial5\n6\n"), 0o600)
	for _, c := range []struct {
		n    int
		want string
	}{
		{1, "6\n"},
		{2, "partial5\n6\n"},
		{3, "4\npartial5\n6\n"},
		{5, "2\n3\n4\npartial5\n6\n"},
		{100, "1\n2\n3\n4\npartial5\n6\n"},
		{0, "1\n2\n3\n4\npartial5\n6\n"},
	} {
		got, err := TailRotated(p, c.n)
		if err != nil || string(got) != c.want {
			t.Errorf("TailRotated(%d) = %q, %v; want %q", c.n, got, err, c.want)
		}
	}
	// Right after a rotation the file is empty: the lines come from .1.
	os.WriteFile(p, nil, 0o600)
	if got, _ := TailRotated(p, 2); string(got) != "4\npart" {
		t.Errorf("TailRotated of an empty file = %q, want the end of .1", got)
	}
	if _, err := TailRotated(filepath.Join(dir, "none"), 2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing log: %v, want ErrNotExist", err)
	}
	// show reads across too.
	var b bytes.Buffer
	os.WriteFile(p, []byte("7\n"), 0o600)
	if err := showSources(&b, []Source{{Label: "stdout", Path: p}}, 3); err != nil || b.String() != "3\n4\npart7\n" {
		t.Errorf("Show = %q, %v", b.String(), err)
	}
}

// TestFollowAcrossRotation follows a file that is rotated right after lines
// were appended, before followAll could read them: followAll prints them from the
// rotated copy and goes on in the file, every line once, in order.
func TestFollowAcrossRotation(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a-out.txt")
		writeLines(t, p, 0, 10)
		f := startFollow(t, Source{Label: "stdout", Path: p})
		var want strings.Builder
		next := 10
		add := func(n int) {
			for i := next; i < next+n; i++ {
				want.WriteString(line(i))
			}
			writeLines(t, p, next, next+n)
			next += n
		}
		for range 5 {
			add(60)
			f.waitOutput(t, want.String())
			add(200) // 6200 bytes, most likely unread yet
			// The file holds less than 8000 bytes: the copy drops none.
			if rotated, err := Rotate(p, 8000, 3); err != nil || !rotated {
				t.Fatalf("rotated=%v err=%v", rotated, err)
			}
			add(5)
			f.waitOutput(t, want.String())
		}
	})
}

// TestFollowAcrossLossyRotation rotates more than the cap between two reads
// of followAll: the lines dropped by the rotation cannot be printed, but what
// the rotated copy and the file hold is, in order, each line once.
func TestFollowAcrossLossyRotation(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a-out.txt")
		writeLines(t, p, 0, 10)
		f := startFollow(t, Source{Label: "stdout", Path: p})
		writeLines(t, p, 10, 20)
		f.waitContains(t, line(19))
		writeLines(t, p, 20, 1000) // 31 KB
		if rotated, err := Rotate(p, 4000, 3); err != nil || !rotated {
			t.Fatalf("rotated=%v err=%v", rotated, err)
		}
		writeLines(t, p, 1000, 1005)
		f.waitContains(t, line(1004))
		nums := numbers(t, "output", []byte(f.buf.String()))
		for i := 1; i < len(nums); i++ {
			if nums[i] <= nums[i-1] {
				t.Fatalf("line %d follows line %d", nums[i], nums[i-1])
			}
		}
		// What the rotated copy holds was printed: its first line too.
		rot, _ := os.ReadFile(RotatedPath(p, 1))
		rot = rot[:bytes.LastIndexByte(rot, '\n')+1]
		if first := numbers(t, "copy", rot)[0]; !strings.Contains(f.buf.String(), line(first)) {
			t.Fatalf("line %d, the first of the rotated copy, was not printed", first)
		}
	})
}

// TestFollowDeepInFile follows a file whose rotation keeps far more than a
// block past the cut (collapse-range keeps up to the cap when the file holds
// over twice it): followAll finds its place deep in the file and goes on from
// there, printing nothing twice.
func TestFollowDeepInFile(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a-out.txt")
		writeLines(t, p, 0, 10)
		f := startFollow(t, Source{Label: "stdout", Path: p})
		var want strings.Builder
		for i := 10; i < 70015; i++ {
			want.WriteString(line(i))
		}
		writeLines(t, p, 10, 70000) // 2.2 MB
		f.waitContains(t, line(69999))
		writeLines(t, p, 70000, 70010)
		if rotated, err := Rotate(p, 600<<10, 3); err != nil || !rotated {
			t.Fatalf("rotated=%v err=%v", rotated, err)
		}
		writeLines(t, p, 70010, 70015)
		f.waitOutput(t, want.String())
	})
}

// TestFollowWhileRotating follows a log that a writer fills in batches of
// 2 MB and 300 KB (the cap is 512 KB), rotating it after each as bgrun commands do, while
// followAll reads: whatever followAll prints is in order, each line once, and it
// ends with the last line.
func TestFollowWhileRotating(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a-out.txt")
		writeLines(t, p, 0, 1)
		f := startFollow(t, Source{Label: "stdout", Path: p})
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		next := 1
		var buf []byte
		for b := range 6 {
			n := []int{2 << 20, 300 << 10}[b%2] / 31
			buf = buf[:0]
			for i := next; i < next+n; i++ {
				buf = append(buf, line(i)...)
				if len(buf) >= 64<<10 {
					out.Write(buf)
					buf = buf[:0]
				}
			}
			out.Write(buf)
			next += n
			if _, err := Rotate(p, 512<<10, 3); err != nil {
				t.Fatal(err)
			}
		}
		f.waitContains(t, line(next-1))
		// Lines cut where a rotation dropped bytes are skipped.
		prev, cut := -1, 0
		for _, l := range strings.SplitAfter(f.buf.String(), "\n") {
			var n int
			if _, err := fmt.Sscanf(l, "line %d ", &n); err != nil || l != line(n) {
				cut++
				continue
			}
			if n <= prev {
				t.Fatalf("line %d comes after line %d", n, prev)
			}
			prev = n
		}
		t.Logf("%d lines cut by rotations that dropped bytes", cut)
	})
}

// TestFollowPlaceAtCopyStart: the follower's place lies just after the
// start of the rotated copy, so the bytes it remembers began in what the
// rotation dropped. It goes on from its place in the copy, repeating
// nothing (it repeated the lines between the copy's start and its place).
func TestFollowPlaceAtCopyStart(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "a-out.txt")
		writeLines(t, p, 0, 100)
		fl := &follower{src: Source{Label: "stdout", Path: p}}
		if err := fl.start(); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		const max = 31 * 1000
		writeLines(t, p, 100, 1100) // read next: the place is at the end of line 1099
		if err := fl.poll(t.Context(), &out); err != nil {
			t.Fatal(err)
		}
		// The copy keeps the last max bytes: lines 1090 to 2089, so the
		// place is 10 lines into it, and the kilobyte the follower
		// remembers began in the lines the rotation dropped.
		writeLines(t, p, 1100, 2090)
		if _, err := Rotate(p, max, 3); err != nil {
			t.Fatal(err)
		}
		writeLines(t, p, 2090, 2100)
		if err := fl.poll(t.Context(), &out); err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		for i := 100; i < 2100; i++ {
			want.WriteString(line(i))
		}
		if out.String() != want.String() {
			t.Fatalf("followed %d bytes, want lines 100 to 2099 once each (%d bytes); it starts %q and has %q after line 1099",
				out.Len(), want.Len(), out.String()[:31], out.String()[31*1000:31*1000+62])
		}
	})
}

// TestTrimToLine cuts a rotated copy after its last whole line: the rest of
// a write read half done was dropped with the file's truncation.
func TestTrimToLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a\nb\npart", "a\nb\n"},
		{"a\nb\n", "a\nb\n"},
		{"no newline", "no newline"},
		{"", ""},
	} {
		p := filepath.Join(t.TempDir(), "copy")
		if err := os.WriteFile(p, []byte(c.in), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := trimToLine(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if got, _ := os.ReadFile(p); string(got) != c.want {
			t.Errorf("trimToLine(%q) left %q, want %q", c.in, got, c.want)
		}
	}
}
