package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock for the now seam that a test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// coldTree makes dirs directories of files files whose modification times lie a day in
// the past, as in a checkout nobody has touched, and a poller over it whose clock runs an
// hour ahead, so that directory stamps are settled and no file starts hot.
func coldTree(t *testing.T, dirs, files int) (string, *poller, *fakeClock) {
	t.Helper()
	root := t.TempDir()
	makeTree(t, root, dirs, files)
	old := time.Now().Add(-24 * time.Hour)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(path, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock(time.Now().Add(time.Hour))
	return root, &poller{Root: root, now: clock.now}, clock
}

// edit rewrites root/rel in place, as most editors and tools do: the directory is
// untouched, so only an lstat of the file itself shows the change.
func edit(t *testing.T, root, rel string, n int) {
	t.Helper()
	data := fmt.Sprintf("package x // edit %d\n", n)
	if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(rel)), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stepChanges runs one of Run's passes with the given sweep allowance.
func stepChanges(p *poller, s *snapshot, sweep int) []string {
	cs, _ := p.step(s, sweep)
	return format(cs)
}

func TestStepSweepsColdFilesInRoundsAndHotFilesEveryPass(t *testing.T) {
	root, p, clock := coldTree(t, 5, 10)
	s, err := p.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.hot) != 0 {
		t.Fatalf("%d hot files in a tree untouched for a day, want 0", len(s.hot))
	}
	// An allowance of one lstat sweeps one directory of ten files per pass, in tree
	// order: the edit in the fourth directory is found by the fourth pass, not before.
	edit(t, root, "pkg003/file004.go", 1)
	for pass := 1; pass <= 3; pass++ {
		if cs := stepChanges(p, s, 1); len(cs) != 0 {
			t.Fatalf("pass %d reported %q before the sweep reached pkg003", pass, cs)
		}
		if want := 6 + 10; s.stats != want { // the root and five directories, ten files
			t.Errorf("pass %d made %d lstats, want %d", pass, s.stats, want)
		}
	}
	if cs := stepChanges(p, s, 1); !slices.Equal(cs, []string{"modified pkg003/file004.go"}) {
		t.Fatalf("fourth pass reported %q, want the edit", cs)
	}
	// Seen to change, the file is hot: every pass checks it, wherever the sweep is.
	sweeps := s.sweeps
	edit(t, root, "pkg003/file004.go", 2)
	if cs := stepChanges(p, s, 1); !slices.Equal(cs, []string{"modified pkg003/file004.go"}) {
		t.Fatalf("edit of a hot file: %q, want it reported by the next pass", cs)
	}
	if s.sweeps != sweeps+1 {
		t.Errorf("sweeps = %d after five passes of one directory each, want %d", s.sweeps, sweeps+1)
	}
	// Ten minutes without a change and it is cold again, left to the sweep.
	clock.advance(hotWindow + time.Minute)
	stepChanges(p, s, 1)
	edit(t, root, "pkg003/file004.go", 3)
	if cs := stepChanges(p, s, 1); len(cs) != 0 {
		t.Errorf("edit of a file cold again: %q reported by a pass sweeping pkg001", cs)
	}
	for range 4 {
		stepChanges(p, s, 1)
	}
	if len(s.hot) != 1 {
		t.Errorf("hot list holds %d files after the sweep found the edit, want 1", len(s.hot))
	}
}

func TestStepSeesDirectoryChangesEveryPass(t *testing.T) {
	root, p, _ := coldTree(t, 5, 10)
	s, err := p.Scan()
	if err != nil {
		t.Fatal(err)
	}
	stepChanges(p, s, 1)
	write(t, root, "pkg004/new.go", "x")
	if err := os.Remove(filepath.Join(root, "pkg001/file000.go")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "pkg002/file000.go"), filepath.Join(root, "pkg002/moved.go")); err != nil {
		t.Fatal(err)
	}
	write(t, root, "pkg003/.file001.go.swp", "package x // saved atomically\n")
	if err := os.Rename(filepath.Join(root, "pkg003/.file001.go.swp"), filepath.Join(root, "pkg003/file001.go")); err != nil {
		t.Fatal(err)
	}
	want := withoutInodes([]string{
		"deleted pkg001/file000.go",
		"renamed pkg002/file000.go -> pkg002/moved.go",
		"modified pkg003/file001.go",
		"created pkg004/new.go",
	})
	if cs := stepChanges(p, s, 1); !slices.Equal(cs, want) {
		t.Errorf("one pass after a create, delete, rename and atomic save:\n got %q\nwant %q", cs, want)
	}
}

func TestScanSeedsTheNewestFilesHot(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	for i := range 100 {
		rel := fmt.Sprintf("f%03d.go", i)
		write(t, root, rel, "x")
		at := now.Add(-time.Duration(i) * time.Second) // f000 is the newest
		if i >= 90 {
			at = now.Add(-time.Hour) // too old to be hot at all
		}
		chtimes(t, root, rel, at)
	}
	clock := newFakeClock(now)
	s, err := (&poller{Root: root, now: clock.now}).Scan()
	if err != nil {
		t.Fatal(err)
	}
	var hot []string
	for _, h := range s.hot {
		hot = append(hot, h.k.rel)
	}
	slices.Sort(hot)
	var want []string
	for i := range maxHot {
		want = append(want, fmt.Sprintf("f%03d.go", i))
	}
	if !slices.Equal(hot, want) {
		t.Errorf("hot files = %q, want the %d newest %q", hot, maxHot, want)
	}
}

func TestIgnoreFileIsReadAgainWhenItChanges(t *testing.T) {
	root := t.TempDir()
	write(t, root, ignoreFile, "*.log\n")
	write(t, root, "a.log", "a")
	write(t, root, "b.go", "b")
	write(t, root, "c.tmp", "c")
	ig, err := newIgnore(root, []string{"*.tmp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock(time.Now().Add(time.Hour))
	p := &poller{Root: root, Ignore: ig, now: clock.now}
	s, err := p.Scan()
	if err != nil {
		t.Fatal(err)
	}
	paths := func() []string {
		var out []string
		for rel := range s.Files() {
			out = append(out, rel)
		}
		slices.Sort(out)
		return out
	}
	if got := paths(); !slices.Equal(got, []string{ignoreFile, "b.go"}) {
		t.Fatalf("watched paths = %q", got)
	}
	// The new rules swap what is watched; neither side reads as a change, only the file.
	write(t, root, ignoreFile, "b.go\n")
	if cs := format(p.Rescan(s)); !slices.Equal(cs, []string{"modified " + ignoreFile}) {
		t.Errorf("ignore file rewritten: changes %q, want only the file", cs)
	}
	if got := paths(); !slices.Equal(got, []string{ignoreFile, "a.log"}) {
		t.Errorf("watched paths after the rewrite = %q, want a.log in, b.go out, c.tmp still out (a flag pattern)", got)
	}
	write(t, root, "a.log", "a2")
	write(t, root, "b.go", "b2")
	write(t, root, "c.tmp", "c2")
	if cs := format(p.Rescan(s)); !slices.Equal(cs, []string{"modified a.log"}) {
		t.Errorf("after the rewrite: changes %q, want a.log only", cs)
	}
	// A version that does not parse leaves the rules as they were.
	write(t, root, ignoreFile, "[\n")
	p.Rescan(s)
	if got := paths(); !slices.Equal(got, []string{ignoreFile, "a.log"}) {
		t.Errorf("watched paths after a bad rewrite = %q, want them unchanged", got)
	}
	// And the quick passes of Run notice the file too, not only a full Rescan.
	write(t, root, ignoreFile, "")
	stepChanges(p, s, 1)
	if got := paths(); !slices.Equal(got, []string{ignoreFile, "a.log", "b.go"}) {
		t.Errorf("watched paths after emptying the file = %q", got)
	}
}

func TestPacerKeepsToItsShare(t *testing.T) {
	const perStat = 3 * time.Microsecond
	const quick = 265 // 201 directories and 64 hot files
	start := time.Unix(0, 0)
	pc := pacer{last: start, perStat: perStat}
	now, spent, swept := start, time.Duration(0), 0
	for range 1000 {
		pause := pc.delay(200 * time.Millisecond)
		now = now.Add(pause)
		pc.fill(now)
		sweep := max(pc.allowance(quick), 1)
		cost := time.Duration(quick+sweep) * perStat
		pc.spent(cost, quick+sweep)
		spent += cost
		swept += sweep
	}
	wall := now.Sub(start)
	if share := float64(spent) / float64(wall); share > 1.0/budgetParts*1.01 {
		t.Errorf("passes took %.2f%% of the wall time, over the share of %.2f%%", 100*share, 100.0/budgetParts)
	}
	share := int(200*time.Millisecond/budgetParts/perStat) - quick
	if perPass := swept / 1000; perPass < share*9/10 {
		t.Errorf("the sweep got %d lstats a pass, want the rest of the share (%d)", perPass, share)
	}
	// A pass that cost far more than the share (a tree just checked out) is paid for
	// by a longer pause, not by more CPU.
	pc.spent(100*time.Millisecond, 1)
	if pause := pc.delay(200 * time.Millisecond); pause < 5*time.Second {
		t.Errorf("pause after a 100 ms pass = %v, want at least 5 s", pause)
	}
}
