package logs

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile creates a file with content in a fresh temporary directory and
// returns its path.
func writeFile(tb testing.TB, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "out.txt")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// naiveTail is the obvious in-memory definition of Tail that the block
// reader must agree with: split on "\n", where a trailing newline ends the
// last line instead of starting an empty one.
func naiveTail(s string, n int) string {
	if n <= 0 || s == "" {
		return s
	}
	body, nl := strings.CutSuffix(s, "\n")
	lines := strings.Split(body, "\n")
	if n < len(lines) {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "\n")
	if nl {
		out += "\n"
	}
	return out
}

// blockSizes are the fixed block sizes every table case runs with, so that
// block boundaries fall before, on and after every newline of the small
// inputs; Tail itself, with growing blocks, runs on each case too.
var blockSizes = []int{1, 2, 3, 4, 5, 7, 16, firstBlock}

func TestTail(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3*firstBlock+17)
	// exact is firstBlock bytes of 64-byte lines, so that the file ends, and
	// every block starts, right after a newline.
	exact := strings.Repeat(strings.Repeat("e", 63)+"\n", firstBlock/64)
	tests := []struct {
		name    string
		content string
		n       int
		want    string
	}{
		{"empty file", "", 5, ""},
		{"empty file whole", "", 0, ""},
		{"one line with newline", "a\n", 1, "a\n"},
		{"one line without newline", "a", 1, "a"},
		{"one line, more asked", "a\n", 3, "a\n"},
		{"last of three", "a\nb\nc\n", 1, "c\n"},
		{"last two of three", "a\nb\nc\n", 2, "b\nc\n"},
		{"last two, no final newline", "a\nb\nc", 2, "b\nc"},
		{"n larger than the file", "a\nb\n", 10, "a\nb\n"},
		{"n zero is whole file", "a\nb\nc\n", 0, "a\nb\nc\n"},
		{"n negative is whole file", "a\nb\nc", -3, "a\nb\nc"},
		{"crlf", "a\r\nb\r\nc\r\n", 2, "b\r\nc\r\n"},
		{"crlf without final newline", "a\r\nb\r\nc", 2, "b\r\nc"},
		{"lone cr is not a line break", "a\rb\nc\rd\n", 1, "c\rd\n"},
		{"only a newline", "\n", 1, "\n"},
		{"blank lines count", "a\n\n\n", 2, "\n\n"},
		{"blank lines, all", "\n\n\n", 5, "\n\n\n"},
		{"line longer than a block", "a\n" + long + "\n", 1, long + "\n"},
		{"line longer than a block, no newline", "a\n" + long, 1, long},
		{"long lines around a short one", long + "\nb\n" + long + "\n", 2, "b\n" + long + "\n"},
		{"exactly one block", exact, 3, strings.Repeat(strings.Repeat("e", 63)+"\n", 3)},
		{"exactly one block, all lines", exact, firstBlock / 64, exact},
		{"one block plus one byte", exact + "z", 2, strings.Repeat("e", 63) + "\nz"},
		{"one block minus one byte", exact[:len(exact)-1], 1, strings.Repeat("e", 63)},
		{"two blocks", exact + exact, firstBlock/64 + 1, exact[len(exact)-64:] + exact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tt.content)
			if naive := naiveTail(tt.content, tt.n); naive != tt.want {
				t.Fatalf("the case disagrees with naiveTail: want %q, naive %q", abbrev(tt.want), abbrev(naive))
			}
			for _, bs := range blockSizes {
				if bs < 16 && len(tt.content) > 4096 {
					continue // Tiny blocks over big files only slow the test down.
				}
				got, err := tail(path, tt.n, bs, bs)
				if err != nil {
					t.Fatalf("block %d: %v", bs, err)
				}
				if string(got) != tt.want {
					t.Errorf("block %d: Tail(%d) = %q, want %q", bs, tt.n, abbrev(string(got)), abbrev(tt.want))
				}
			}
			got, err := Tail(path, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Tail(%d) = %q, want %q", tt.n, abbrev(string(got)), abbrev(tt.want))
			}
		})
	}
}

// abbrev shortens s for a failure message.
func abbrev(s string) string {
	if len(s) > 80 {
		return s[:40] + "..." + s[len(s)-40:]
	}
	return s
}

func TestTailMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Tail(filepath.Join(t.TempDir(), "nope.txt"), 10)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Tail of a missing file: err = %v, want os.ErrNotExist", err)
	}
}

func TestTailDirectory(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 10} {
		if _, err := Tail(t.TempDir(), n); err == nil {
			t.Errorf("Tail(dir, %d): no error", n)
		}
	}
}

func TestReadFullAtShrunkFile(t *testing.T) {
	t.Parallel()
	f, err := os.Open(writeFile(t, "0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := readFullAt(f, make([]byte, 8), 4); !errors.Is(err, errShrank) {
		t.Fatalf("reading past the end: err = %v, want errShrank", err)
	}
	b := make([]byte, 4)
	if err := readFullAt(f, b, 6); err != nil || string(b) != "6789" {
		t.Fatalf("reading up to the end: %q, %v", b, err)
	}
}

// randomLog returns a log of random lines: empty ones, short ones, \r\n
// endings, lone \r, and now and then a line longer than the block size.
func randomLog(r *rand.Rand, lines, block int) string {
	var sb strings.Builder
	for range lines {
		var size int
		switch r.IntN(10) {
		case 0:
			size = 0
		case 1:
			size = block + r.IntN(2*block+1)
		default:
			size = r.IntN(block + 1)
		}
		for range size {
			c := byte('a' + r.IntN(26))
			if r.IntN(50) == 0 {
				c = '\r'
			}
			sb.WriteByte(c)
		}
		if r.IntN(4) == 0 {
			sb.WriteString("\r\n")
		} else {
			sb.WriteByte('\n')
		}
	}
	s := sb.String()
	if r.IntN(2) == 0 && len(s) > 0 {
		s = s[:len(s)-1-r.IntN(min(len(s), 3))] // Cut the final newline, and sometimes more.
	}
	return s
}

func TestTailMatchesNaive(t *testing.T) {
	t.Parallel()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	for i := range 300 {
		block := 1 + r.IntN(40)
		grown := block << r.IntN(4) // Sometimes fixed, sometimes doubling.
		content := randomLog(r, r.IntN(30), block)
		path := filepath.Join(dir, "log.txt")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{-1, 0, 1, 2, 3, r.IntN(40), 1000} {
			got, err := tail(path, n, block, grown)
			if err != nil {
				t.Fatal(err)
			}
			if want := naiveTail(content, n); string(got) != want {
				t.Fatalf("case %d, blocks %d to %d, n %d, content %q:\ngot  %q\nwant %q", i, block, grown, n, content, got, want)
			}
		}
	}
}

func TestTailManyLinesMatchesNaive(t *testing.T) {
	t.Parallel()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	// Lines average about 180 bytes, so 10000 of them span some thirty
	// default-sized blocks.
	content := randomLog(r, 10000, 300)
	path := writeFile(t, content)
	for _, n := range []int{1, 49, 50, 51, 333, 1000, 5000, 9999, 10000, 10001, 0} {
		got, err := Tail(path, n)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveTail(content, n); string(got) != want {
			t.Fatalf("n %d: got %d bytes, want %d bytes (%q vs %q)", n, len(got), len(want), abbrev(string(got)), abbrev(want))
		}
	}
}

// tail is Tail with the first and the largest block size as parameters, so
// that tests can put block boundaries anywhere in small files.
func tail(path string, n, block, limit int) ([]byte, error) {
	b, _, err := tailFrom(path, n, block, limit)
	return b, err
}
