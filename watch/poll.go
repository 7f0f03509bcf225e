// Package watch implements the supervisor behind `bgrun --watch` and `bgrun NAME --guard`:
// a polling file watcher that restarts the child when its tree changes, and a crash guard
// that restarts it with backoff when it dies.
package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults for the zero fields of a Poller. DefaultInterval and DefaultDebounce together
// keep a change noticed within a second; see Poller for why the interval can stretch.
const (
	DefaultInterval = 500 * time.Millisecond
	DefaultDebounce = 300 * time.Millisecond
)

// MaxReported caps the paths Run passes to onChange. A checkout of thousands of files is
// one restart whose log line needs a few names, not all of them.
const MaxReported = 100

// dutyFactor is how many times the cost of the last scan the poller at least pauses
// before the next one, so that scanning uses at most 1/(dutyFactor+1) of one core, about
// 1.7%, whatever the size of the tree, which leaves room under 2% for the garbage
// collector and timers: a tree too big to scan every Interval within that budget is
// scanned less often rather than burning CPU.
const dutyFactor = 59

// maxBurstFactor bounds a burst to this many Debounce periods. A file that changes
// forever (a log nobody excluded) would otherwise postpone the callback forever and hide
// every real change behind it.
const maxBurstFactor = 20

// racyWindow is how old a directory's mtime and ctime must be before an unchanged
// stamp is trusted to mean an unchanged listing. File systems stamp directories with a
// coarse clock, so an entry added in the same tick as a listing can leave the stamp as it
// was; listing again until the stamp is older than any tick closes that gap.
const racyWindow = 2 * time.Second

// Poller watches a directory tree by polling it, which works the same on every platform
// and file system (network mounts, containers, WSL) and needs no inotify watch limit.
//
// A scan lstats every file, the least that notices an edit in place, and lists only the
// directories whose stamp changed, since adding, removing or renaming an entry changes
// the stamp (on Linux; elsewhere every directory is listed on every scan). Its cost
// therefore grows with the number of files, and Run paces itself: it pauses Interval
// between scans, or 59 times the wall time of the last scan if that is longer, which
// keeps idle polling under 2% of one core. Where an lstat costs under a microsecond, a
// 10,000-file tree scans in under 8 ms and keeps the 500 ms interval; where system
// calls are slow (nested virtualization, a loaded machine) the pause stretches and
// changes take longer to notice, rather than the watcher taking more CPU.
//
// Symlinks are recorded but never followed, so a link to a large or cyclic tree costs
// one lstat. The fields must not change while Run or Rescan is in progress.
type Poller struct {
	// Root is the directory watched. A symlink here is resolved once, at the first scan.
	Root string
	// Ignore selects the paths skipped; nil skips only .git and node_modules.
	Ignore *Ignore
	// Interval is the least pause between scans; zero or less means DefaultInterval.
	Interval time.Duration
	// Debounce is how long the tree must stay quiet after a change before Run reports
	// the burst; zero or less means DefaultDebounce.
	Debounce time.Duration

	// now, readDir and afterScan are seams for tests: the clock that dates directory
	// stamps, the directory lister, and a hook Run calls after each scan with the number
	// of scans so far (0 for the first snapshot).
	now       func() time.Time
	readDir   func(name string) ([]fs.DirEntry, error)
	afterScan func(n int)
}

// Op is the kind of a Change.
type Op uint8

// The kinds of change Diff and Rescan report. Modified applies to files only: a
// directory's own stamp changes whenever its entries do, and those are reported instead.
const (
	Created Op = iota + 1
	Modified
	Deleted
	Renamed
)

// String returns the lower-case name of the operation, for logs.
func (o Op) String() string {
	switch o {
	case Created:
		return "created"
	case Modified:
		return "modified"
	case Deleted:
		return "deleted"
	case Renamed:
		return "renamed"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Change is one difference between two states of the tree.
type Change struct {
	Op Op
	// Path is relative to the root and slash-separated; for Renamed it is the new path.
	Path string
	// From is the old path of a Renamed change, and empty otherwise.
	From string
	// IsDir reports that the path is a directory.
	IsDir bool
}

// Entry is what a snapshot records of one path: enough to tell that a file changed
// without reading it.
type Entry struct {
	Size int64
	// ModTime is the modification time in nanoseconds since the Unix epoch, kept as an
	// integer so that a snapshot of many files holds no pointers for the GC to trace.
	ModTime int64
	Mode    fs.FileMode
	// Ino is the inode number, or 0 where the platform gives none (then a rename is
	// reported as a deletion and a creation).
	Ino uint64

	// dev and ctime complete the identity and the change time where the platform has
	// them: dev tells inodes of different file systems apart, and ctime changes even
	// when a tool (cp -p, rsync -t) puts the old mtime back.
	dev   uint64
	ctime int64
}

// IsDir reports whether the entry is a directory.
func (e Entry) IsDir() bool { return e.Mode.IsDir() }

// Snapshot is the state of a tree at one scan. It is a tree of directories, each with
// its entries sorted by name, so that Rescan can walk and update it in place without a
// lookup or an allocation per unchanged file. A Snapshot is not safe for concurrent use.
type Snapshot struct {
	root   string // absolute, symlinks resolved
	prefix string // root with a trailing separator, the prefix of every path below it
	top    dirState
	lists  int // directories listed by the last scan, for tests and benchmarks
}

// dirState is one directory of a snapshot.
type dirState struct {
	prefix  string // the directory's absolute path with a trailing separator
	stamp   Entry  // the directory's own entry when it was last listed
	trusted bool   // the stamp may stand for the listing: not racy, listed without error
	kids    []kid  // sorted by name
}

// kid is one entry of a listed directory. Ignored entries stay in the list, marked, so
// that the ignore rules run once per new name rather than once per scan.
type kid struct {
	abs       string // absolute path, built once when the name first appears
	rel       string // slash-separated path relative to the root (a substring of abs on Unix)
	name      string // a substring of abs
	listedDir bool   // the type the listing gave, which the ignore decision used
	ignored   bool
	present   bool // entry holds a successful lstat of this path
	entry     Entry
	sub       *dirState // for a directory
}

// Scan takes a fresh snapshot of the tree. The root must exist, be a directory (or a
// symlink to one) and be readable; unreadable directories below it are skipped.
func (p *Poller) Scan() (*Snapshot, error) {
	root, err := resolveRoot(p.Root)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{root: root, prefix: root}
	if !strings.HasSuffix(root, string(filepath.Separator)) {
		s.prefix += string(filepath.Separator)
	}
	s.top.prefix = s.prefix
	var e Entry
	if err := lstat(root, &e); err != nil {
		return nil, fmt.Errorf("watch %s: %w", p.Root, err)
	}
	sc := p.newScanner(s, false)
	if err := sc.walk(&s.top, e); err != nil {
		return nil, fmt.Errorf("watch %s: %w", p.Root, err)
	}
	s.lists = sc.lists
	return s, nil
}

// resolveRoot returns the absolute, symlink-free form of root, and an error unless it is
// a directory.
func resolveRoot(root string) (string, error) {
	if root == "" {
		return "", errors.New("watch: no root directory given")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("watch %s: %w", root, err)
	}
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("watch %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("watch %s: %w", root, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("watch %s: not a directory", root)
	}
	return abs, nil
}

// Rescan brings s up to date with the tree, in place, and returns what changed since s
// was taken or last rescanned, sorted by path. It lists only the directories whose stamp
// changed and lstats each file once, comparing with the entry already in s, so an
// unchanged tree costs one lstat per path and almost no allocation. If the root has
// gone, every path in it is reported deleted, and a root that comes back is picked up by
// a later Rescan. Use the Poller that took s: s caches its ignore decisions.
func (p *Poller) Rescan(s *Snapshot) []Change {
	sc := p.newScanner(s, true)
	var e Entry
	if err := lstat(s.root, &e); err != nil || !e.IsDir() {
		sc.clear(&s.top)
		s.top = dirState{prefix: s.prefix}
	} else {
		_ = sc.walk(&s.top, e) // An unreadable root reads as empty; Scan reported it at start.
	}
	s.lists = sc.lists
	return finish(sc.out)
}

// Files returns every path in the snapshot with its entry, keyed by the slash-separated
// path relative to the root. Ignored paths are not in a snapshot.
func (s *Snapshot) Files() map[string]Entry {
	m := make(map[string]Entry)
	var add func(ds *dirState)
	add = func(ds *dirState) {
		for i := range ds.kids {
			k := &ds.kids[i]
			if !k.present || k.ignored {
				continue
			}
			m[k.rel] = k.entry
			if k.sub != nil {
				add(k.sub)
			}
		}
	}
	add(&s.top)
	return m
}

// Diff reports the changes that turn before into after, sorted by path: the same
// comparison Rescan makes in place, for two snapshots kept apart.
func Diff(before, after *Snapshot) []Change {
	om, nm := before.Files(), after.Files()
	var out []change
	for p, oe := range om {
		ne, ok := nm[p]
		switch {
		case !ok:
			out = append(out, newChange(Deleted, p, oe))
		case oe.IsDir() != ne.IsDir():
			out = append(out, newChange(Deleted, p, oe), newChange(Created, p, ne))
		case !ne.IsDir() && oe != ne:
			out = append(out, newChange(Modified, p, ne))
		}
	}
	for p, ne := range nm {
		if _, ok := om[p]; !ok {
			out = append(out, newChange(Created, p, ne))
		}
	}
	return finish(out)
}

// change is a Change with the identity of its entry, which finish uses to pair a
// deletion with a creation of the same file into a rename.
type change struct {
	Change
	id fileID
}

// fileID identifies a file across a rename: the same inode with the same size and
// mtime. Size and mtime guard against a file system reusing a freed inode for a new file
// in the same scan, as ext4 does.
type fileID struct {
	dev, ino    uint64
	size, mtime int64
	dir         bool
}

// newChange records op on rel, whose entry (the old one for a deletion) is e.
func newChange(op Op, rel string, e Entry) change {
	return change{
		Change: Change{Op: op, Path: rel, IsDir: e.IsDir()},
		id:     fileID{dev: e.dev, ino: e.Ino, size: e.Size, mtime: e.ModTime, dir: e.IsDir()},
	}
}

// finish pairs deletions with creations of the same file into renames and sorts the
// result by path, so that the order does not depend on map or walk order.
func finish(cs []change) []Change {
	if len(cs) == 0 {
		return nil
	}
	deleted := make(map[fileID]int)
	for i, c := range cs {
		if c.Op == Deleted && c.id.ino != 0 {
			deleted[c.id] = i
		}
	}
	if len(deleted) > 0 {
		for i := range cs {
			c := &cs[i]
			if c.Op != Created || c.id.ino == 0 {
				continue
			}
			if j, ok := deleted[c.id]; ok {
				c.Op, c.From = Renamed, cs[j].Path
				cs[j].Op = 0
				delete(deleted, c.id)
			}
		}
	}
	out := make([]Change, 0, len(cs))
	for _, c := range cs {
		if c.Op != 0 {
			out = append(out, c.Change)
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(opRank(a.Op), opRank(b.Op)))
	})
	return out
}

// opRank orders changes of one path: a deletion comes first, so that a file replaced by
// a directory of the same name reads "deleted x", then "created x/".
func opRank(o Op) int {
	if o == Deleted {
		return 0
	}
	return int(o)
}

// scanner holds the state of one pass over a snapshot.
type scanner struct {
	s       *Snapshot
	ig      *Ignore
	now     int64 // nanoseconds since the epoch, for the racy-stamp test
	readDir func(string) ([]fs.DirEntry, error)
	report  bool // collect changes; off for the first snapshot, where all would be "created"
	out     []change
	lists   int
}

// newScanner prepares a pass over s with p's settings, reading the clock once so that
// every directory of the pass is judged racy against the same instant.
func (p *Poller) newScanner(s *Snapshot, report bool) *scanner {
	sc := &scanner{s: s, ig: p.Ignore, report: report, readDir: p.readDir}
	if sc.readDir == nil {
		sc.readDir = os.ReadDir
	}
	now := time.Now
	if p.now != nil {
		now = p.now
	}
	sc.now = now().UnixNano()
	return sc
}

// walk brings the directory ds, whose fresh entry is e, up to date: it lists it again
// unless its stamp can be trusted, then checks each entry. It returns the listing error
// of ds itself, which only Scan uses, for the root.
func (sc *scanner) walk(ds *dirState, e Entry) error {
	var err error
	if !ds.trusted || ds.stamp != e {
		err = sc.relist(ds, e)
	}
	for i := range ds.kids {
		sc.visit(ds, &ds.kids[i])
	}
	return err
}

// relist reads the directory again and merges the names with the entries it had, by
// name, so that known entries keep their previous state for comparison. A directory that
// cannot be read lists as empty: its entries are reported deleted, and it is tried again
// on every scan.
func (sc *scanner) relist(ds *dirState, e Entry) error {
	sc.lists++
	des, err := sc.readDir(ds.prefix)
	ds.stamp = e
	newest := max(e.ModTime, e.ctime)
	ds.trusted = stampsTrusted && err == nil && sc.now-newest >= int64(racyWindow)
	old := ds.kids
	kids := make([]kid, 0, len(des))
	i := 0
	for _, de := range des {
		name, isDir := de.Name(), de.IsDir()
		for i < len(old) && old[i].name < name {
			sc.drop(&old[i])
			i++
		}
		if i < len(old) && old[i].name == name {
			k := old[i]
			i++
			if k.listedDir != isDir {
				k.listedDir = isDir
				k.ignored = sc.ig.Match(k.rel, isDir)
			}
			kids = append(kids, k)
			continue
		}
		abs := ds.prefix + name
		rel := filepath.ToSlash(abs[len(sc.s.prefix):])
		kids = append(kids, kid{
			abs:       abs,
			rel:       rel,
			name:      abs[len(ds.prefix):],
			listedDir: isDir,
			ignored:   sc.ig.Match(rel, isDir),
		})
	}
	for ; i < len(old); i++ {
		sc.drop(&old[i])
	}
	ds.kids = kids
	if err != nil {
		return fmt.Errorf("list %s: %w", ds.prefix, err)
	}
	return nil
}

// visit lstats one entry and reports how it changed, descending into directories.
func (sc *scanner) visit(ds *dirState, k *kid) {
	if k.ignored {
		if k.present {
			sc.gone(k)
		}
		return
	}
	var e Entry
	if err := lstat(k.abs, &e); err != nil {
		// The entry vanished after the listing, or cannot be read: report it gone now
		// and list the directory again next time to learn which.
		if k.present {
			sc.gone(k)
		}
		ds.trusted = false
		return
	}
	if k.present && k.entry.IsDir() != e.IsDir() {
		sc.gone(k)
	}
	switch {
	case !k.present:
		k.present, k.entry = true, e
		sc.add(Created, k.rel, e)
		if e.IsDir() {
			k.sub = &dirState{prefix: k.abs + string(filepath.Separator)}
			_ = sc.walk(k.sub, e) // An unreadable directory is skipped, not fatal.
		}
	case e.IsDir():
		k.entry = e
		_ = sc.walk(k.sub, e)
	case e != k.entry:
		k.entry = e
		sc.add(Modified, k.rel, e)
	}
}

// drop handles an entry that is no longer in its directory's listing.
func (sc *scanner) drop(k *kid) {
	if k.present && !k.ignored {
		sc.gone(k)
	}
}

// gone reports k, and everything under it if it is a directory, as deleted, deepest
// first, and forgets its state.
func (sc *scanner) gone(k *kid) {
	if k.sub != nil {
		sc.clear(k.sub)
	}
	sc.add(Deleted, k.rel, k.entry)
	k.present, k.sub = false, nil
}

// clear reports every entry under ds as deleted.
func (sc *scanner) clear(ds *dirState) {
	for i := range ds.kids {
		sc.drop(&ds.kids[i])
	}
}

// add records a change, unless this pass takes a first snapshot.
func (sc *scanner) add(op Op, rel string, e Entry) {
	if sc.report {
		sc.out = append(sc.out, newChange(op, rel, e))
	}
}

// Run polls the tree until ctx is done and calls onChange once per burst of changes:
// changes are collected until Debounce passes with no further change, so a checkout of
// 500 files is one call. onChange gets the changed paths (both names of a rename),
// relative, slash-separated and sorted, at most MaxReported of them. A burst that never
// goes quiet is reported after 20 Debounce periods anyway, so a file that changes all the
// time cannot hide the others.
//
// onChange runs on Run's goroutine and no scan happens while it runs; changes made
// meanwhile (by a restart, say) are found by the next scan. Run returns an error at once
// if Root is missing, not a directory or unreadable, and nil when ctx is done; later
// failures (the root removed, a directory unreadable) are reported as changes, not
// errors, so a supervisor outlives a branch switch that briefly removes its tree.
func (p *Poller) Run(ctx context.Context, onChange func(changed []string)) error {
	if onChange == nil {
		return errors.New("watch: Run needs an onChange callback")
	}
	s, err := p.Scan()
	if err != nil {
		return err
	}
	interval, debounce := p.Interval, p.Debounce
	if interval <= 0 {
		interval = DefaultInterval
	}
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	scans := 0
	if p.afterScan != nil {
		p.afterScan(scans)
	}
	pending := make(map[string]struct{})
	var burstStart, lastChange time.Time
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		start := time.Now()
		changes := p.Rescan(s)
		now := time.Now()
		cost := now.Sub(start)
		scans++
		if p.afterScan != nil {
			p.afterScan(scans)
		}
		if len(changes) > 0 {
			if len(pending) == 0 {
				burstStart = now
			}
			lastChange = now
			for _, c := range changes {
				pending[c.Path] = struct{}{}
				if c.From != "" {
					pending[c.From] = struct{}{}
				}
			}
		}
		if len(pending) > 0 {
			quiet := now.Sub(lastChange)
			if quiet < debounce && now.Sub(burstStart) < maxBurstFactor*debounce {
				timer.Reset(debounce - quiet)
				continue
			}
			onChange(reported(pending))
			clear(pending)
		}
		timer.Reset(max(interval, cost*dutyFactor))
	}
}

// reported returns the first MaxReported pending paths in order.
func reported(pending map[string]struct{}) []string {
	paths := make([]string, 0, len(pending))
	for p := range pending {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	if len(paths) > MaxReported {
		paths = paths[:MaxReported:MaxReported]
	}
	return paths
}
