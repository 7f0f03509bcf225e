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
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Defaults for the zero fields of a poller. A file edited in the last minutes is checked
// every defaultInterval, and a burst is reported once defaultDebounce has passed since
// its last change (dated by the kernel's change time where there is one, not by when the
// scan saw it), so an edit of such a file reaches the callback within about
// defaultInterval; see poller for the rest of the tree.
const (
	defaultInterval = 200 * time.Millisecond
	defaultDebounce = 100 * time.Millisecond
)

// maxReported caps the paths Run passes to onChange. A checkout of thousands of files is
// one restart whose log line needs a few names, not all of them.
const maxReported = 100

// budgetParts sets the share of one core that Run's passes may spend on average, one
// part in budgetParts: about 1.4%. The rest of the 2% the watcher may take goes to the
// runtime around the passes, which on a loaded virtual machine was measured at 0.4-0.5%
// of a core (waking the goroutine, and sysmon polling while a pass makes system calls).
// A tree too big to sweep quickly within that share is swept less often rather than
// the watcher burning more CPU.
const budgetParts = 70

// maxCredit bounds the CPU time that Run saves up while passes cost less than their
// share, so that a quiet spell buys one quick sweep, not minutes of scanning.
const maxCredit = time.Second / budgetParts

// hotWindow is how long a file stays hot, that is checked on every pass, after it was
// last seen to change (or, at the first scan, after its modification time): the files
// someone is editing now are those edited in the last minutes. maxHot caps their number,
// keeping the most recent, so that a checkout of thousands of files does not turn every
// pass into a full sweep.
const (
	hotWindow = 10 * time.Minute
	maxHot    = 64
)

// maxBurstFactor bounds a burst to this many Debounce periods. A file that changes
// forever (a log nobody excluded) would otherwise postpone the callback forever and hide
// every real change behind it.
const maxBurstFactor = 20

// racyWindow is how old a directory's mtime and ctime must be before an unchanged
// stamp is trusted to mean an unchanged listing. File systems stamp directories with a
// coarse clock, so an entry added in the same tick as a listing can leave the stamp as it
// was; listing again until the stamp is older than any tick closes that gap.
const racyWindow = 2 * time.Second

// poller watches a directory tree by polling it, which works the same on every platform
// and file system (network mounts, containers, WSL) and needs no inotify watch limit.
//
// Noticing an edit in place takes an lstat of the file, and on a slow machine an lstat
// costs a few microseconds, so Run polls what matters first. Every pass (every Interval)
// lstats every directory, and lists again those whose stamp changed, since adding,
// removing or renaming an entry (an editor's atomic save too) changes the stamp on Linux;
// it lstats every entry of such a directory, and the hot files: the 64 newest of those
// seen to change in the last ten minutes (or, at the first scan, modified in the last ten
// minutes). Then the sweep lstats every other file, a few directories per pass, as much
// as the CPU budget allows: Run's passes spend at most 1/70 of one core (about 1.4%) on
// average, measured as their CPU time, so the time a full sweep takes grows with the size
// of the tree and the cost of an lstat instead of the CPU the watcher takes: about 70
// times the CPU time of lstatting every file, plus a share for the directories, which is
// 2.2 seconds for 10,000 files where an lstat costs 2.5 microseconds. Outside Linux,
// every directory is listed, and its entries lstatted, on every pass.
//
// Symlinks are recorded but never followed, so a link to a large or cyclic tree costs
// one lstat. The ignoreFile of the Ignore's root is read again when it changes: paths it
// newly excludes are forgotten and paths it no longer excludes are taken in, neither
// reported as changes (the file itself is, unless it is ignored); a version that cannot
// be read or parsed leaves the rules as they were. The fields must not change while Run
// or Rescan is in progress.
type poller struct {
	// Root is the directory watched. A symlink here is resolved once, at the first scan.
	Root string
	// ignore selects the paths skipped; nil skips only .git and node_modules.
	Ignore *ignore
	// Interval is the pause between passes, which the CPU budget can stretch; zero or
	// less means defaultInterval.
	Interval time.Duration
	// Debounce is how long the tree must stay quiet after a change before Run reports
	// the burst; zero or less means defaultDebounce.
	Debounce time.Duration

	// now, readDir and afterScan are seams for tests: the clock that dates directory
	// stamps and hot files, the directory lister, and a hook Run calls after each scan
	// with the number of scans so far (0 for the first snapshot). afterPass is a seam for
	// benchmarks, which Run calls after each pass with the snapshot, the CPU time the
	// pass cost, and the pause before the next one.
	now       func() time.Time
	readDir   func(name string) ([]fs.DirEntry, error)
	afterScan func(n int)
	afterPass func(s *snapshot, cost, pause time.Duration)
}

// op is the kind of a Change.
type op uint8

// The kinds of change Diff and Rescan report. modified applies to files only: a
// directory's own stamp changes whenever its entries do, and those are reported instead.
const (
	created op = iota + 1
	modified
	deleted
	renamed
)

// Change is one difference between two states of the tree.
type Change struct {
	Op op
	// Path is relative to the root and slash-separated; for renamed it is the new path.
	Path string
	// From is the old path of a renamed change, and empty otherwise.
	From string
	// IsDir reports that the path is a directory.
	IsDir bool
}

// entry is what a snapshot records of one path: enough to tell that a file changed
// without reading it.
type entry struct {
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
func (e entry) IsDir() bool { return e.Mode.IsDir() }

// snapshot is the state of a tree at one scan. It is a tree of directories, each with
// its entries sorted by name, so that Rescan can walk and update it in place without a
// lookup or an allocation per unchanged file. A snapshot is not safe for concurrent use.
type snapshot struct {
	root   string // absolute, symlinks resolved
	prefix string // root with a trailing separator, the prefix of every path below it
	top    dirState

	// ig is the ignore rules in force, which start as the Poller's and are replaced when
	// igFile, their ignoreFile, changes; igStamp is its entry when last read (igSeen
	// false if it was missing).
	ig      *ignore
	igFile  string
	igStamp entry
	igSeen  bool

	hot   []hotFile // the files every pass checks, at most maxHot
	round uint32    // the sweep round in progress; see dirState.swept

	// For tests and benchmarks, of the last pass: directories listed, lstat calls, and
	// the lstat calls and listings outside the sweep. sweeps counts completed rounds.
	lists, stats, quick int
	sweeps              int
}

// hotFile is a file of the hot list and the time, in nanoseconds since the epoch, it was
// last seen to change.
type hotFile struct {
	k  *kid
	at int64
}

// dirState is one directory of a snapshot.
type dirState struct {
	prefix  string // the directory's absolute path with a trailing separator
	stamp   entry  // the directory's own entry when it was last listed
	trusted bool   // the stamp may stand for the listing: not racy, listed without error
	reindex bool   // subs is out of date
	swept   uint32 // the round in which every entry here was last lstatted
	kids    []*kid // sorted by name
	subs    []*kid // the kids that are watched directories, which every pass visits
}

// kid is one entry of a listed directory. Ignored entries stay in the list, marked, so
// that the ignore rules run once per new name rather than once per scan. Kids are
// pointers so that the hot list can hold them across listings.
type kid struct {
	abs       string    // absolute path, built once when the name first appears
	rel       string    // slash-separated path relative to the root (a substring of abs on Unix)
	name      string    // a substring of abs
	dir       *dirState // the directory listing this entry
	listedDir bool      // the type the listing gave, which the ignore decision used
	ignored   bool
	present   bool // entry holds a successful lstat of this path
	hot       bool // in the snapshot's hot list, which checks it instead of the sweep
	dead      bool // no longer in its directory's listing
	entry     entry
	sub       *dirState // for a directory
}

// Scan takes a fresh snapshot of the tree. The root must exist, be a directory (or a
// symlink to one) and be readable; unreadable directories below it are skipped.
func (p *poller) Scan() (*snapshot, error) {
	root, err := resolveRoot(p.Root)
	if err != nil {
		return nil, err
	}
	s := &snapshot{root: root, prefix: root, ig: p.Ignore, igFile: p.Ignore.file()}
	if !strings.HasSuffix(root, string(filepath.Separator)) {
		s.prefix += string(filepath.Separator)
	}
	s.top.prefix = s.prefix
	sc := p.newScanner(s)
	sc.full, sc.seed = true, true
	sc.checkIgnoreFile()
	var e entry
	if err := sc.lstat(root, &e); err != nil {
		return nil, fmt.Errorf("watch %s: %w", p.Root, err)
	}
	if err := sc.walk(&s.top, e); err != nil {
		return nil, fmt.Errorf("watch %s: %w", p.Root, err)
	}
	sc.end()
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

// step is one of Run's passes over s: the directories, the hot files, and the sweep,
// which lstats the files of directories not yet swept in this round, in tree order,
// while fewer than sweep lstats have been made (at least one directory). It returns the
// changes and the time of the latest, in nanoseconds since the epoch, as the kernel
// dated it (math.MaxInt64 when some change has no date, such as a file found gone).
func (p *poller) step(s *snapshot, sweep int) ([]Change, int64) {
	sc := p.newScanner(s)
	sc.report, sc.sweep = true, max(sweep, 1)
	out := sc.pass()
	return finish(out), sc.latest
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
func newChange(op op, rel string, e entry) change {
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
	gone := make(map[fileID]int)
	for i, c := range cs {
		if c.Op == deleted && c.id.ino != 0 {
			gone[c.id] = i
		}
	}
	if len(gone) > 0 {
		for i := range cs {
			c := &cs[i]
			if c.Op != created || c.id.ino == 0 {
				continue
			}
			if j, ok := gone[c.id]; ok {
				c.Op, c.From = renamed, cs[j].Path
				cs[j].Op = 0
				delete(gone, c.id)
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
func opRank(o op) int {
	if o == deleted {
		return 0
	}
	return int(o)
}

// scanner holds the state of one pass over a snapshot.
type scanner struct {
	s       *snapshot
	ig      *ignore
	now     int64 // nanoseconds since the epoch, for the racy-stamp test and the hot list
	readDir func(string) ([]fs.DirEntry, error)
	report  bool // collect changes; off for the first snapshot, where all would be "created"
	full    bool // lstat every entry, as Scan and Rescan do
	seed    bool // the first snapshot: files modified in the last hotWindow start hot
	sweep   int  // lstats the sweep may still make in this pass
	fd      int  // fdDir open for lstatKid, if fdDir is not nil
	fdDir   *dirState
	unswept int // directories left unswept in this round after this pass
	latest  int64
	dropped int64 // the date of deletions found by the listing in progress, or 0
	out     []change
	lists   int
	stats   int
	swept   int // lstats made by the sweep
}

// newScanner prepares a pass over s with p's settings, reading the clock once so that
// every directory of the pass is judged racy against the same instant.
func (p *poller) newScanner(s *snapshot) *scanner {
	sc := &scanner{s: s, ig: s.ig, readDir: p.readDir}
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

// pass brings s up to date: the ignore file, the tree from the root down, and the hot
// files, and returns the changes found, unsorted.
func (sc *scanner) pass() []change {
	s := sc.s
	sc.checkIgnoreFile()
	var e entry
	if err := sc.lstat(s.root, &e); err != nil || !e.IsDir() {
		sc.clear(&s.top)
		s.top = dirState{prefix: s.prefix}
	} else {
		_ = sc.walk(&s.top, e) // An unreadable root reads as empty; Scan reported it at start.
	}
	sc.visitHot()
	sc.end()
	return sc.out
}

// end records the statistics of the pass and starts a new sweep round if this pass
// completed one.
func (sc *scanner) end() {
	s := sc.s
	if sc.unswept == 0 {
		s.round++
		s.sweeps++
	}
	s.lists, s.stats, s.quick = sc.lists, sc.stats, sc.stats+sc.lists-sc.swept
}

// lstat is the package's lstat, counted.
func (sc *scanner) lstat(path string, e *entry) error {
	sc.stats++
	return lstat(path, e)
}

// minOpenDir is the number of entries from which walk opens a directory to lstat them
// by name: the open and close cost about two lstats.
const minOpenDir = 4

// lstatKid lstats k, by name in its directory if walk has that open.
func (sc *scanner) lstatKid(k *kid, e *entry) error {
	if sc.fdDir != nil && sc.fdDir == k.dir {
		sc.stats++
		return lstatAt(sc.fd, k.name, e)
	}
	return sc.lstat(k.abs, e)
}

// walk brings the directory ds, whose fresh entry is e, up to date: it lists it again
// unless its stamp can be trusted, and then lstats every entry if it was listed, the
// pass is full or the sweep reaches it, or else only its subdirectories. It returns the
// listing error of ds itself, which only Scan uses, for the root.
func (sc *scanner) walk(ds *dirState, e entry) error {
	var err error
	all := sc.full
	if !ds.trusted || ds.stamp != e {
		// Entries may have been replaced under the same names (an atomic save), so a
		// listed directory has all its entries checked.
		err = sc.relist(ds, e)
		all = true
	}
	sweeping := false
	if !all && ds.swept != sc.s.round {
		if sc.sweep > 0 {
			all, sweeping = true, true
		} else {
			sc.unswept++
		}
	}
	visit := ds.subs
	if all {
		ds.swept = sc.s.round
		visit = ds.kids
	}
	outerFd, outerDir := sc.fd, sc.fdDir
	opened := false
	if len(visit) >= minOpenDir {
		sc.fd, opened = openDir(ds.prefix)
		if opened {
			sc.fdDir = ds
		} else {
			sc.fd = outerFd
		}
	}
	for _, k := range visit {
		if k.hot && k.sub == nil {
			continue // visitHot checks it
		}
		if sweeping && k.sub == nil && !k.ignored {
			sc.sweep--
			sc.swept++
		}
		sc.visit(ds, k)
	}
	if opened {
		closeDir(sc.fd)
		sc.fd, sc.fdDir = outerFd, outerDir
	}
	if ds.reindex {
		ds.index()
	}
	return err
}

// index rebuilds the list of subdirectories that every pass visits.
func (ds *dirState) index() {
	ds.subs = ds.subs[:0]
	for _, k := range ds.kids {
		if k.sub != nil {
			ds.subs = append(ds.subs, k)
		}
	}
	ds.reindex = false
}

// relist reads the directory again and merges the names with the entries it had, by
// name, so that known entries keep their previous state for comparison. A directory that
// cannot be read lists as empty: its entries are reported deleted, and it is tried again
// on every scan.
func (sc *scanner) relist(ds *dirState, e entry) error {
	sc.lists++
	des, err := sc.readDir(ds.prefix)
	ds.stamp = e
	newest := max(e.ModTime, e.ctime)
	ds.trusted = stampsTrusted && err == nil && sc.now-newest >= int64(racyWindow)
	ds.reindex = true
	// An entry that left the listing left it before the directory's change time.
	sc.dropped = e.ctime
	defer func() { sc.dropped = 0 }()
	old := ds.kids
	kids := make([]*kid, 0, len(des))
	i := 0
	for _, de := range des {
		name, isDir := de.Name(), de.IsDir()
		for i < len(old) && old[i].name < name {
			sc.drop(old[i])
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
		kids = append(kids, &kid{
			abs:       abs,
			rel:       rel,
			name:      abs[len(ds.prefix):],
			dir:       ds,
			listedDir: isDir,
			ignored:   sc.ig.Match(rel, isDir),
		})
	}
	for ; i < len(old); i++ {
		sc.drop(old[i])
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
	var e entry
	if err := sc.lstatKid(k, &e); err != nil {
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
	if !k.present && e.IsDir() && pseudoFS(k.abs) {
		// /proc, /sys and the like change all the time and hold no
		// project's files: never watched (`--watch --directory /`).
		k.ignored = true
		return
	}
	switch {
	case !k.present:
		k.present, k.entry = true, e
		sc.add(created, k.rel, e)
		if e.IsDir() {
			k.sub = &dirState{prefix: k.abs + string(filepath.Separator)}
			ds.reindex = true
			_ = sc.walk(k.sub, e) // An unreadable directory is skipped, not fatal.
		} else if sc.report {
			sc.promote(k, sc.now)
		} else if sc.seed && sc.now-e.ModTime < int64(hotWindow) {
			sc.promote(k, min(e.ModTime, sc.now))
		}
	case e.IsDir():
		k.entry = e
		_ = sc.walk(k.sub, e)
	case e != k.entry:
		k.entry = e
		sc.add(modified, k.rel, e)
		sc.promote(k, sc.now)
	}
}

// visitHot lstats the hot files, forgetting those that left the tree, became directories
// or went cold.
func (sc *scanner) visitHot() {
	s := sc.s
	keep := s.hot[:0]
	for _, h := range s.hot {
		k := h.k
		if k.dead || k.ignored || k.sub != nil || sc.now-h.at > int64(hotWindow) {
			k.hot = false
			continue
		}
		keep = append(keep, h)
	}
	clear(s.hot[len(keep):])
	s.hot = keep
	// visit can promote, which only updates or replaces entries in place now that the
	// list is pruned, so ranging by index sees every file that was hot.
	for i := 0; i < len(s.hot); i++ {
		k := s.hot[i].k
		if k.dead || k.sub != nil {
			continue // gone with a directory visited earlier in this loop
		}
		sc.visit(k.dir, k)
		if k.dir.reindex {
			k.dir.index()
		}
	}
}

// promote puts k in the hot list, dated at, or dates it again if it is there. A full
// list gives way to a newer file, replacing its oldest.
func (sc *scanner) promote(k *kid, at int64) {
	s := sc.s
	if k.hot {
		for i := range s.hot {
			if s.hot[i].k == k {
				s.hot[i].at = max(s.hot[i].at, at)
				return
			}
		}
	}
	if len(s.hot) < maxHot {
		k.hot = true
		s.hot = append(s.hot, hotFile{k, at})
		return
	}
	oldest := 0
	for i := range s.hot {
		if s.hot[i].at < s.hot[oldest].at {
			oldest = i
		}
	}
	if at > s.hot[oldest].at {
		s.hot[oldest].k.hot = false
		k.hot = true
		s.hot[oldest] = hotFile{k, at}
	}
}

// drop handles an entry that is no longer in its directory's listing.
func (sc *scanner) drop(k *kid) {
	if k.present && !k.ignored {
		sc.gone(k)
	}
	k.dead = true
}

// gone reports k, and everything under it if it is a directory, as deleted, deepest
// first, and forgets its state.
func (sc *scanner) gone(k *kid) {
	if k.sub != nil {
		sc.clear(k.sub)
		k.dir.reindex = true
	}
	sc.add(deleted, k.rel, k.entry)
	k.present, k.sub = false, nil
}

// clear reports every entry under ds as deleted.
func (sc *scanner) clear(ds *dirState) {
	for _, k := range ds.kids {
		sc.drop(k)
	}
}

// add records a change, unless this pass takes a first snapshot, and dates it: by the
// change time of the new entry, or of the directory whose listing lost the entry, or
// else not at all.
func (sc *scanner) add(op op, rel string, e entry) {
	if !sc.report {
		return
	}
	sc.out = append(sc.out, newChange(op, rel, e))
	at := e.ctime
	if op == deleted {
		at = sc.dropped
	}
	if at == 0 {
		at = math.MaxInt64
	}
	sc.latest = max(sc.latest, at)
}

// checkIgnoreFile reads the ignore rules again if their file changed since it was last
// read, and applies them to every entry known; Scan only records its entry.
func (sc *scanner) checkIgnoreFile() {
	s := sc.s
	if s.igFile == "" {
		return
	}
	var e entry
	seen := sc.lstat(s.igFile, &e) == nil
	if seen == s.igSeen && (!seen || e == s.igStamp) {
		return
	}
	s.igSeen, s.igStamp = seen, e
	if sc.seed {
		return
	}
	ig, err := s.ig.reload()
	if err != nil {
		return // The rules stay as they were until the file changes again.
	}
	s.ig, sc.ig = ig, ig
	report := sc.report
	sc.report = false
	sc.reignore(&s.top)
	sc.report = report
}

// reignore applies new ignore rules to ds and below, without reporting: an entry now
// ignored is forgotten, one no longer ignored is taken in as it is.
func (sc *scanner) reignore(ds *dirState) {
	for _, k := range ds.kids {
		ignored := sc.ig.Match(k.rel, k.listedDir)
		if ignored == k.ignored {
			if k.sub != nil {
				sc.reignore(k.sub)
			}
			continue
		}
		k.ignored = ignored
		if ignored {
			if k.present {
				sc.gone(k)
			}
		} else {
			sc.visit(ds, k)
		}
	}
	if ds.reindex {
		ds.index()
	}
}

// Run polls the tree until ctx is done and calls onChange once per burst of changes:
// changes are collected until Debounce passes with no further change, so a checkout of
// 500 files is one call. onChange gets the changed paths (both names of a rename),
// relative, slash-separated and sorted, at most maxReported of them. A burst that never
// goes quiet is reported after 20 Debounce periods anyway, so a file that changes all the
// time cannot hide the others.
//
// onChange runs on Run's goroutine and no scan happens while it runs; changes made
// meanwhile (by a restart, say) are found by the next scan. Run returns an error at once
// if Root is missing, not a directory or unreadable, and nil when ctx is done; later
// failures (the root removed, a directory unreadable) are reported as changes, not
// errors, so a supervisor outlives a branch switch that briefly removes its tree.
func (p *poller) Run(ctx context.Context, onChange func(changed []string)) error {
	if onChange == nil {
		return errors.New("watch: Run needs an onChange callback")
	}
	var s *snapshot
	var err error
	cost := measure(func() { s, err = p.Scan() })
	if err != nil {
		return err
	}
	interval, debounce := p.Interval, p.Debounce
	if interval <= 0 {
		interval = defaultInterval
	}
	if debounce <= 0 {
		debounce = defaultDebounce
	}
	pc := pacer{last: time.Now()}
	pc.spent(cost, s.stats+s.lists)
	pc.credit = 0 // The first snapshot is the price of starting, not of watching.
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
		pc.fill(time.Now())
		sweep := pc.allowance(s.quick)
		var changes []Change
		var latest int64
		cost := measure(func() { changes, latest = p.step(s, sweep) })
		now := time.Now()
		pc.spent(cost, s.stats+s.lists)
		scans++
		if p.afterScan != nil {
			p.afterScan(scans)
		}
		if len(changes) > 0 {
			// The burst is quiet once Debounce has passed since its last change, which
			// the kernel dated, rather than since this pass saw it: a change the sweep
			// finds a second late needs no further wait.
			at := now
			if latest < now.UnixNano() {
				at = time.Unix(0, latest)
			}
			if len(pending) == 0 {
				burstStart, lastChange = now, at
			}
			lastChange = later(lastChange, at)
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
		pause := pc.delay(interval)
		if p.afterPass != nil {
			p.afterPass(s, cost, pause)
		}
		timer.Reset(pause)
	}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// measure runs f on one thread and returns the CPU time that thread spent, or the wall
// time where the thread's CPU time cannot be read. CPU time is what the budget is
// about, and on a loaded machine the wall time of a pass is mostly waiting for a core.
func measure(f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	c0, ok0 := threadCPU()
	f()
	c1, ok1 := threadCPU()
	if ok0 && ok1 {
		return c1 - c0
	}
	return time.Since(start)
}

// pacer keeps Run's passes within their share of one core: a bucket of CPU time that
// fills at one part in budgetParts of the wall clock, up to maxCredit, and empties by
// what each pass costs. The quick part of a pass is always paid; the sweep gets what is
// left, and a debt postpones the next pass.
type pacer struct {
	credit  time.Duration // CPU time the passes may still spend; negative is a debt
	last    time.Time     // when credit was last filled
	perStat time.Duration // the estimated cost of one lstat or listing, with its share of a pass
}

// fill adds the credit earned since the last fill.
func (pc *pacer) fill(now time.Time) {
	pc.credit = min(pc.credit+now.Sub(pc.last)/budgetParts, maxCredit)
	pc.last = now
}

// allowance returns how many lstats the sweep may make in a pass whose quick part makes
// about quick of them.
func (pc *pacer) allowance(quick int) int {
	return int(pc.credit/pc.perStat) - quick
}

// spent pays for a pass that cost cost for stats lstats and listings, and refines the
// estimate of their cost.
func (pc *pacer) spent(cost time.Duration, stats int) {
	pc.credit -= cost
	if stats > 0 {
		per := cost / time.Duration(stats)
		if pc.perStat == 0 {
			pc.perStat = per
		}
		pc.perStat = (3*pc.perStat + per) / 4
	}
	pc.perStat = max(pc.perStat, time.Nanosecond)
}

// delay returns the pause before the next pass: interval, or while in debt the time the
// bucket takes to refill.
func (pc *pacer) delay(interval time.Duration) time.Duration {
	return max(interval, -pc.credit*budgetParts)
}

// reported returns the first maxReported pending paths in order.
func reported(pending map[string]struct{}) []string {
	paths := make([]string, 0, len(pending))
	for p := range pending {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	if len(paths) > maxReported {
		paths = paths[:maxReported:maxReported]
	}
	return paths
}
