package watch

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// write creates or replaces root/rel, making its directories.
func write(t testing.TB, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeTree fills root with dirs directories of files files each, the shape of the
// benchmark tree.
func makeTree(tb testing.TB, root string, dirs, files int) {
	tb.Helper()
	for d := range dirs {
		dir := filepath.Join(root, fmt.Sprintf("pkg%03d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		for f := range files {
			name := filepath.Join(dir, fmt.Sprintf("file%03d.go", f))
			if err := os.WriteFile(name, []byte("package x\n"), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// format renders changes as "op path" lines, "renamed from -> to" for renames.
func format(cs []Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		s := c.Op.String() + " " + c.Path
		if c.Op == renamed {
			s = "renamed " + c.From + " -> " + c.Path
		}
		if c.IsDir {
			s += "/"
		}
		out = append(out, s)
	}
	return out
}

// withoutInodes rewrites expected renames as a deletion and a creation on platforms
// where the scanner records no inode, keeping the order Diff produces (by path).
func withoutInodes(want []string) []string {
	if runtime.GOOS == "linux" {
		return want
	}
	var out []string
	for _, w := range want {
		from, to, ok := strings.Cut(strings.TrimPrefix(w, "renamed "), " -> ")
		if !strings.HasPrefix(w, "renamed ") || !ok {
			out = append(out, w)
			continue
		}
		suffix := ""
		if strings.HasSuffix(to, "/") {
			suffix = "/"
		}
		out = append(out, "deleted "+from+suffix, "created "+to)
	}
	slices.SortFunc(out, func(a, b string) int {
		return strings.Compare(a[strings.IndexByte(a, ' ')+1:], b[strings.IndexByte(b, ' ')+1:])
	})
	return out
}

// chtimes sets both times of root/rel, the way cp -p and git checkout leave old mtimes.
func chtimes(t *testing.T, root, rel string, when time.Time) {
	t.Helper()
	if err := os.Chtimes(filepath.Join(root, rel), when, when); err != nil {
		t.Fatal(err)
	}
}

func TestScanDiffAndRescan(t *testing.T) {
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		name   string
		linux  bool // needs ctime or inodes, which only the Linux scanner records
		change func(t *testing.T, root string)
		want   []string
	}{
		{"nothing", false, func(t *testing.T, root string) {}, nil},
		{"content grows", false, func(t *testing.T, root string) {
			write(t, root, "a.go", "package a // longer\n")
		}, []string{"modified a.go"}},
		{"same size, mtime changed", false, func(t *testing.T, root string) {
			chtimes(t, root, "a.go", old)
		}, []string{"modified a.go"}},
		{"same size, old mtime put back", true, func(t *testing.T, root string) {
			fi, err := os.Stat(filepath.Join(root, "a.go"))
			if err != nil {
				t.Fatal(err)
			}
			write(t, root, "a.go", "package b\n")
			chtimes(t, root, "a.go", fi.ModTime())
		}, []string{"modified a.go"}},
		{"atomic save by rename over", false, func(t *testing.T, root string) {
			write(t, root, ".a.go.tmp", "package a2\n")
			if err := os.Rename(filepath.Join(root, ".a.go.tmp"), filepath.Join(root, "a.go")); err != nil {
				t.Fatal(err)
			}
		}, []string{"modified a.go"}},
		{"new file", false, func(t *testing.T, root string) {
			write(t, root, "new.go", "x")
		}, []string{"created new.go"}},
		{"new file with an old mtime", false, func(t *testing.T, root string) {
			write(t, root, "sub/copied.go", "x")
			chtimes(t, root, "sub/copied.go", old)
		}, []string{"created sub/copied.go"}},
		{"deleted file", false, func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "sub/c.go")); err != nil {
				t.Fatal(err)
			}
		}, []string{"deleted sub/c.go"}},
		{"renamed file", false, func(t *testing.T, root string) {
			if err := os.Rename(filepath.Join(root, "a.go"), filepath.Join(root, "sub/z.go")); err != nil {
				t.Fatal(err)
			}
		}, []string{"renamed a.go -> sub/z.go"}},
		{"new directory with files", false, func(t *testing.T, root string) {
			write(t, root, "lib/x.go", "x")
			write(t, root, "lib/deep/y.go", "y")
		}, []string{"created lib/", "created lib/deep/", "created lib/deep/y.go", "created lib/x.go"}},
		{"deleted directory", false, func(t *testing.T, root string) {
			if err := os.RemoveAll(filepath.Join(root, "sub")); err != nil {
				t.Fatal(err)
			}
		}, []string{"deleted sub/", "deleted sub/c.go", "deleted sub/d/", "deleted sub/d/e.go"}},
		{"file replaced by a directory", false, func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "b.txt")); err != nil {
				t.Fatal(err)
			}
			write(t, root, "b.txt/inner", "x")
		}, []string{"deleted b.txt", "created b.txt/", "created b.txt/inner"}},
		{"symlink created, not followed", false, func(t *testing.T, root string) {
			if err := os.Symlink(filepath.Join(root, "sub"), filepath.Join(root, "link")); err != nil {
				t.Skipf("symlinks unavailable: %v", err)
			}
		}, []string{"created link"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.linux && runtime.GOOS != "linux" {
				t.Skip("needs ctime, which only the Linux scanner records")
			}
			root := t.TempDir()
			write(t, root, "a.go", "package a\n")
			write(t, root, "b.txt", "b")
			write(t, root, "sub/c.go", "c")
			write(t, root, "sub/d/e.go", "e")
			p := &poller{Root: root}
			forDiff, err := p.Scan()
			if err != nil {
				t.Fatal(err)
			}
			inPlace, err := p.Scan()
			if err != nil {
				t.Fatal(err)
			}
			tt.change(t, root)
			after, err := p.Scan()
			if err != nil {
				t.Fatal(err)
			}
			want := withoutInodes(tt.want)
			if got := format(Diff(forDiff, after)); !slices.Equal(got, want) {
				t.Errorf("Diff:\n got %q\nwant %q", got, want)
			}
			if got := format(p.Rescan(inPlace)); !slices.Equal(got, want) {
				t.Errorf("Rescan:\n got %q\nwant %q", got, want)
			}
			if got, want := inPlace.Files(), after.Files(); !mapsEqual(got, want) {
				t.Errorf("snapshot after Rescan differs from a fresh Scan:\n got %v\nwant %v", got, want)
			}
			if got := p.Rescan(inPlace); len(got) != 0 {
				t.Errorf("second Rescan with no change reports %q", format(got))
			}
		})
	}
}

// mapsEqual reports whether two snapshots' files are the same, entry for entry.
func mapsEqual(a, b map[string]entry) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRenamedDirectory(t *testing.T) {
	root := t.TempDir()
	write(t, root, "old/a.go", "a")
	write(t, root, "old/b/c.go", "c")
	p := &poller{Root: root}
	s, err := p.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "old"), filepath.Join(root, "new")); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range p.Rescan(s) {
		paths = append(paths, c.Path)
		if c.From != "" {
			paths = append(paths, c.From)
		}
	}
	slices.Sort(paths)
	want := []string{"new", "new/a.go", "new/b", "new/b/c.go", "old", "old/a.go", "old/b", "old/b/c.go"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths changed by a directory rename = %q, want %q", paths, want)
	}
}

func TestScanSnapshot(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.go", "12345")
	write(t, root, "sub/b.go", "b")
	write(t, root, ".git/HEAD", "ref")
	write(t, root, "web/node_modules/x/index.js", "x")
	outside := t.TempDir()
	write(t, outside, "secret/deep.go", "x")
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	s, err := (&poller{Root: root}).Scan()
	if err != nil {
		t.Fatal(err)
	}
	files := s.Files()
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	want := []string{"a.go", "link", "sub", "sub/b.go", "web"}
	if !slices.Equal(paths, want) {
		t.Errorf("snapshot paths = %q, want %q (no .git, node_modules or symlink target)", paths, want)
	}
	a := files["a.go"]
	fi, err := os.Stat(filepath.Join(root, "a.go"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != 5 || a.ModTime != fi.ModTime().UnixNano() || a.Mode != fi.Mode() || a.IsDir() {
		t.Errorf("entry of a.go = %+v, want size 5, mtime %v, mode %v", a, fi.ModTime(), fi.Mode())
	}
	if runtime.GOOS == "linux" && a.Ino == 0 {
		t.Error("no inode recorded on Linux")
	}
	if !files["sub"].IsDir() || files["link"].Mode&fs.ModeSymlink == 0 {
		t.Errorf("sub = %v, link = %v: want a directory and a symlink", files["sub"].Mode, files["link"].Mode)
	}
}

func TestRescanListsOnlyChangedDirectories(t *testing.T) {
	if !stampsTrusted {
		t.Skip("this platform lists every directory on every scan")
	}
	root := t.TempDir()
	makeTree(t, root, 5, 3)
	// The clock runs an hour ahead, so the fresh directories count as settled.
	p := &poller{Root: root, now: func() time.Time { return time.Now().Add(time.Hour) }}
	s, err := p.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if cs := p.Rescan(s); len(cs) != 0 || s.lists != 0 {
		t.Fatalf("idle Rescan: changes %q, %d listings; want none", format(cs), s.lists)
	}
	write(t, root, "pkg002/file001.go", "package x // edited in place\n")
	if cs := format(p.Rescan(s)); !slices.Equal(cs, []string{"modified pkg002/file001.go"}) || s.lists != 0 {
		t.Errorf("edit in place: changes %q, %d listings; want one modification, no listing", cs, s.lists)
	}
	write(t, root, "pkg003/new.go", "x")
	if cs := format(p.Rescan(s)); !slices.Equal(cs, []string{"created pkg003/new.go"}) || s.lists != 1 {
		t.Errorf("new file: changes %q, %d listings; want one creation, one listing", cs, s.lists)
	}
}

func TestRescanRelistsRacyDirectories(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, 3, 2)
	p := &poller{Root: root}
	s, err := p.Scan()
	if err != nil {
		t.Fatal(err)
	}
	// The directories were just written, so their stamps may not yet show an entry
	// added in the same clock tick: each is listed again.
	p.Rescan(s)
	if s.lists != 4 {
		t.Errorf("Rescan of a fresh tree listed %d directories, want all 4", s.lists)
	}
}

func TestScanSkipsUnreadableDirectories(t *testing.T) {
	root := t.TempDir()
	write(t, root, "ok/a.go", "a")
	write(t, root, "locked/secret.go", "s")
	sep := string(filepath.Separator)
	var locked atomic.Bool
	locked.Store(true)
	p := &poller{Root: root, readDir: func(name string) ([]fs.DirEntry, error) {
		if locked.Load() && strings.HasSuffix(name, sep+"locked"+sep) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		}
		return os.ReadDir(name)
	}}
	s, err := p.Scan()
	if err != nil {
		t.Fatalf("Scan with an unreadable subdirectory: %v", err)
	}
	files := s.Files()
	if _, ok := files["locked"]; !ok {
		t.Error("the unreadable directory itself is missing")
	}
	if _, ok := files["locked/secret.go"]; ok {
		t.Error("an entry of the unreadable directory was recorded")
	}
	if _, ok := files["ok/a.go"]; !ok {
		t.Error("a readable directory was skipped")
	}
	locked.Store(false)
	if cs := format(p.Rescan(s)); !slices.Equal(cs, []string{"created locked/secret.go"}) {
		t.Errorf("directory readable again: changes %q, want its file created", cs)
	}
}

func TestScanSkipsUnreadableDirectoriesForReal(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs Unix permissions that bind the user (not root)")
	}
	root := t.TempDir()
	write(t, root, "locked/secret.go", "s")
	write(t, root, "ok.go", "x")
	locked := filepath.Join(root, "locked")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	s, err := (&poller{Root: root}).Scan()
	if err != nil {
		t.Fatalf("Scan with a chmod 000 subdirectory: %v", err)
	}
	if _, ok := s.Files()["ok.go"]; !ok {
		t.Error("ok.go missing")
	}
}

func TestScanRootErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	write(t, dir, "file", "x")
	for _, root := range []string{"", filepath.Join(dir, "missing"), file} {
		if _, err := (&poller{Root: root}).Scan(); err == nil {
			t.Errorf("Scan(%q): no error", root)
		}
		err := (&poller{Root: root}).Run(context.Background(), func([]string) {})
		if err == nil {
			t.Errorf("Run(%q): no error", root)
		}
	}
	p := &poller{Root: dir, readDir: func(string) ([]fs.DirEntry, error) { return nil, fs.ErrPermission }}
	if _, err := p.Scan(); err == nil {
		t.Error("Scan of an unreadable root: no error")
	}
	if err := (&poller{Root: dir}).Run(context.Background(), nil); err == nil {
		t.Error("Run with a nil callback: no error")
	}
}

func TestScanSymlinkedRoot(t *testing.T) {
	real := t.TempDir()
	write(t, real, "a.go", "a")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	p := &poller{Root: link}
	s, err := p.Scan()
	if err != nil {
		t.Fatal(err)
	}
	write(t, real, "b.go", "b")
	if cs := format(p.Rescan(s)); !slices.Equal(cs, []string{"created b.go"}) {
		t.Errorf("change under a symlinked root: %q", cs)
	}
}

func TestRescanRootRemovedAndBack(t *testing.T) {
	root := filepath.Join(t.TempDir(), "proj")
	write(t, root, "a/b.go", "b")
	p := &poller{Root: root}
	s, err := p.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if cs := format(p.Rescan(s)); !slices.Equal(cs, []string{"deleted a/", "deleted a/b.go"}) {
		t.Errorf("root removed: changes %q", cs)
	}
	write(t, root, "c.go", "c")
	if cs := format(p.Rescan(s)); !slices.Equal(cs, []string{"created c.go"}) {
		t.Errorf("root back: changes %q", cs)
	}
}

// watcher runs a poller in the background and records what it reports.
type watcher struct {
	scans   atomic.Int64
	calls   chan []string
	done    chan error
	ncalls  atomic.Int64
	mu      sync.Mutex
	history [][]string
}

// startWatcher starts p.Run and returns once the first snapshot is taken, so that a
// change the test makes afterwards is a change to the watcher.
func startWatcher(t testing.TB, p *poller) *watcher {
	t.Helper()
	w := &watcher{calls: make(chan []string, 100), done: make(chan error, 1)}
	ready := make(chan struct{})
	p.afterScan = func(n int) {
		w.scans.Store(int64(n))
		if n == 0 {
			close(ready)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		w.done <- p.Run(ctx, func(changed []string) {
			w.ncalls.Add(1)
			w.mu.Lock()
			w.history = append(w.history, changed)
			w.mu.Unlock()
			w.calls <- changed
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-w.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	select {
	case <-ready:
	case err := <-w.done:
		t.Fatalf("Run returned before its first scan: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no first snapshot within 10s")
	}
	return w
}

// next waits up to d for the next callback.
func (w *watcher) next(t testing.TB, d time.Duration) []string {
	t.Helper()
	select {
	case c := <-w.calls:
		return c
	case <-time.After(d):
		t.Fatalf("no callback within %v", d)
		return nil
	}
}

// waitScans polls until the watcher has made n more scans.
func (w *watcher) waitScans(t testing.TB, n int64) {
	t.Helper()
	target := w.scans.Load() + n
	deadline := time.Now().Add(30 * time.Second)
	for w.scans.Load() < target {
		if time.Now().After(deadline) {
			t.Fatalf("watcher stuck at scan %d, waiting for %d", w.scans.Load(), target)
		}
		time.Sleep(time.Millisecond) // A polling step, not a wait for time to pass.
	}
}

func TestRunReportsAnEdit(t *testing.T) {
	root := t.TempDir()
	write(t, root, "main.go", "package main\n")
	w := startWatcher(t, &poller{Root: root})
	write(t, root, "main.go", "package main // edited\n")
	// How soon is a benchmark's business (BenchmarkRunNotice, BenchmarkWatch10k); the
	// deadline only keeps a broken watcher from hanging the test.
	if got := w.next(t, 30*time.Second); !slices.Equal(got, []string{"main.go"}) {
		t.Errorf("callback = %q, want [main.go]", got)
	}
}

func TestRunBurstIsOneCallback(t *testing.T) {
	root := t.TempDir()
	// A long Debounce, so that a loaded machine pausing the writer between batches
	// does not split the burst: a change is dated by the kernel, not by when it is seen.
	p := &poller{Root: root, Interval: 20 * time.Millisecond, Debounce: 4 * time.Second}
	w := startWatcher(t, p)
	// 500 files in ten batches, each written after the watcher has scanned again, so
	// the burst spans many scans, as a checkout does.
	// A pause of the writer longer than Debounce (a machine loaded enough)
	// ends a burst for good: the split is then right, and is not checked.
	var pause time.Duration
	last := time.Now()
	for batch := range 10 {
		pause = max(pause, time.Since(last))
		for i := range 50 {
			write(t, root, fmt.Sprintf("src/d%d/f%03d.go", batch, i), "x")
		}
		last = time.Now()
		w.waitScans(t, 1)
	}
	got := w.next(t, 30*time.Second)
	reported := time.Now()
	if !slices.IsSorted(got) || got[0] != "src" {
		t.Errorf("callback holds %q...; want sorted paths, from src", got[:min(3, len(got))])
	}
	if pause >= p.Debounce {
		t.Logf("the writer paused %v between batches, longer than Debounce: the burst may be split", pause)
		return
	}
	if len(got) != maxReported {
		t.Errorf("callback holds %d paths, want %d", len(got), maxReported)
	}
	// A second callback, if the burst had been split, would come one Debounce after
	// the last change: watch well past that.
	for time.Since(reported) < 2*p.Debounce {
		w.waitScans(t, 1)
	}
	if n := w.ncalls.Load(); n != 1 {
		t.Errorf("%d callbacks for one burst, want 1: %q", n, w.history)
	}
}

func TestRunIgnores(t *testing.T) {
	// The root sits under a directory whose name starts with .git, which must not
	// hide the whole tree.
	root := filepath.Join(t.TempDir(), ".gitstuff", "proj")
	write(t, root, ".git/HEAD", "ref: refs/heads/main\n")
	write(t, root, "node_modules/pkg/index.js", "x")
	write(t, root, "server.go", "package main\n")
	logFile := filepath.Join(root, "logs", "api-out.txt")
	write(t, root, "logs/api-out.txt", "")
	ig, err := newIgnore(root, []string{"*.tmp,!keep.tmp", "cache/"}, []string{logFile})
	if err != nil {
		t.Fatal(err)
	}
	w := startWatcher(t, &poller{Root: root, Ignore: ig, Interval: 20 * time.Millisecond, Debounce: 100 * time.Millisecond})

	// The child logs every 100 ms into a file inside the tree.
	var logged atomic.Int64
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				n := logged.Add(1)
				os.WriteFile(logFile, []byte(strings.Repeat("log line\n", int(n))), 0o644)
			}
		}
	}()
	defer func() { close(stop); <-stopped }()

	write(t, root, ".git/index", "new index")
	write(t, root, ".git/objects/ab/cdef", "blob")
	write(t, root, "node_modules/pkg/index.js", "changed")
	write(t, root, "node_modules/new/a.js", "new package")
	write(t, root, "scratch.tmp", "x")
	write(t, root, "cache/data.bin", "x")
	deadline := time.Now().Add(30 * time.Second)
	for logged.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatal("log writer stalled")
		}
		w.waitScans(t, 1)
	}
	w.waitScans(t, 10)
	if n := w.ncalls.Load(); n != 0 {
		t.Fatalf("%d callbacks for ignored paths: %q", n, w.history)
	}

	write(t, root, "keep.tmp", "x")
	if got := w.next(t, 5*time.Second); !slices.Equal(got, []string{"keep.tmp"}) {
		t.Errorf("callback = %q, want [keep.tmp] (re-included by !keep.tmp)", got)
	}
}

func TestRunEndlessChangesStillReported(t *testing.T) {
	root := t.TempDir()
	write(t, root, "busy.txt", "0")
	p := &poller{Root: root, Interval: 10 * time.Millisecond, Debounce: 50 * time.Millisecond}
	w := startWatcher(t, p)
	write(t, root, "real.go", "x")
	for i := 1; w.ncalls.Load() == 0; i++ {
		if i > 10000 {
			t.Fatal("a file changing on every scan postponed the callback forever")
		}
		write(t, root, "busy.txt", strings.Repeat("x", i))
		w.waitScans(t, 1)
	}
	got := w.next(t, time.Second)
	if !slices.Contains(got, "real.go") {
		t.Errorf("callback = %q, want real.go in it", got)
	}
}

func TestRunReturnsOnCancel(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&poller{Root: root}).Run(ctx, func([]string) {}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// settledClock makes a benchmark see the tree as it is two seconds after its last
// change, when directory stamps are trusted, without waiting two seconds.
func settledClock() time.Time { return time.Now().Add(racyWindow) }

// BenchmarkScan10k measures one idle Rescan of 200 directories of 50 files: the work
// the watcher repeats every Interval.
func BenchmarkScan10k(b *testing.B) {
	root := b.TempDir()
	makeTree(b, root, 200, 50)
	p := &poller{Root: root, now: settledClock}
	s, err := p.Scan()
	if err != nil {
		b.Fatal(err)
	}
	p.Rescan(s)
	b.ReportAllocs()
	for b.Loop() {
		if cs := p.Rescan(s); len(cs) != 0 {
			b.Fatalf("idle tree changed: %q", format(cs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10200, "ns/path")
}

// BenchmarkScan10kRelist is BenchmarkScan10k with every directory listed again, as on
// platforms without trusted stamps or right after a change.
func BenchmarkScan10kRelist(b *testing.B) {
	root := b.TempDir()
	makeTree(b, root, 200, 50)
	p := &poller{Root: root, now: func() time.Time { return time.Unix(0, 0) }}
	s, err := p.Scan()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Rescan(s)
	}
	if s.lists != 201 {
		b.Fatalf("%d directories listed per scan, want all 201", s.lists)
	}
}

// BenchmarkScan10kFresh measures the first snapshot, taken when Run starts.
func BenchmarkScan10kFresh(b *testing.B) {
	root := b.TempDir()
	makeTree(b, root, 200, 50)
	p := &poller{Root: root}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Scan(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunNotice measures how long an edit of a small tree's one file takes to reach
// the callback with the default Interval and Debounce (it was a one-second deadline in a
// test, which a loaded machine can miss without anything being wrong).
func BenchmarkRunNotice(b *testing.B) {
	root := b.TempDir()
	write(b, root, "main.go", "package main\n")
	calls := make(chan []string, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &poller{Root: root}
	ready := make(chan struct{})
	p.afterScan = func(n int) {
		if n == 0 {
			close(ready)
		}
	}
	go p.Run(ctx, func(c []string) { calls <- c })
	<-ready
	var total, worst time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		// A random pause, so that edits fall anywhere between two passes.
		time.Sleep(time.Duration(rand.Int64N(int64(300 * time.Millisecond))))
		b.StartTimer()
		start := time.Now()
		write(b, root, "main.go", fmt.Sprintf("package main // edit %d\n", i))
		select {
		case <-calls:
		case <-time.After(30 * time.Second):
			b.Fatal("edit not reported within 30s")
		}
		d := time.Since(start)
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "notice-ms")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
