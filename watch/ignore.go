package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"bgrun/run"
	"bgrun/store"
)

// ignoreFile is the name of the optional pattern file in the watched root. It holds one
// pattern a line in .gitignore syntax, with blank lines and lines starting with # skipped,
// so that a project can keep its watch exclusions beside its code instead of in a flag.
const ignoreFile = ".bgrunignore"

// alwaysIgnored holds the path segments the watcher never looks inside, whatever the
// patterns say: version control and installed dependencies change in bulk and are never
// a reason to restart, and node_modules alone can hold more files than the project.
var alwaysIgnored = [...]string{".git", "node_modules"}

// ignore decides which paths the watcher skips. It always skips any path with a segment
// named .git or node_modules (compared segment by segment, never as a substring of the
// whole path, so a root under /home/x/.gitstuff still works), the exact files it was given
// (the record's own log files, which would otherwise restart the child on every line it
// logs), and the paths matched by user patterns in .gitignore-like syntax:
//
//	name       matches a file or directory of that name at any depth
//	dir/       matches directories only
//	*.log      shell glob for one segment (path.Match): * ? [a-z] and \ escapes
//	/name      a leading slash, or any slash inside, anchors the pattern at the root
//	a/**/b     ** matches zero or more whole segments; **/name matches at any depth
//	!pattern   re-includes what an earlier pattern excluded
//
// As in git, the last matching pattern wins, and a path inside an excluded directory
// cannot be re-included, because the watcher never lists an excluded directory.
// A nil *ignore applies only the built-in rules. An ignore is safe for concurrent use.
type ignore struct {
	exact map[string]struct{}
	rules []ignoreRule
	// root is the directory whose ignoreFile was read, and fileRules how many of rules
	// came from it, so that the watcher can read the file again when it changes.
	root      string
	fileRules int
}

// ignoreRule is one parsed pattern. Its segments are kept split so that matching walks
// segment lists instead of re-splitting the pattern for every path.
type ignoreRule struct {
	segs     []string
	negate   bool
	dirOnly  bool
	anchored bool
}

// newIgnore builds the rules for the tree at root. Patterns come first from root's
// ignoreFile, if there is one, then from patterns, so a pattern given on the command line
// overrides the file (the last match wins); each element of patterns may hold several
// patterns separated by commas, as a repeatable, comma-separated flag delivers them.
// exactFiles are absolute paths, or paths relative to root, of files to skip exactly;
// those outside root are dropped, since the watcher never sees them.
func newIgnore(root string, patterns []string, exactFiles []string) (*ignore, error) {
	ig := &ignore{exact: make(map[string]struct{}), root: root}
	if root != "" {
		name := filepath.Join(root, ignoreFile)
		data, err := store.ReadSmall(name, run.MaxFileSize)
		switch {
		case err == nil:
			for i, line := range strings.Split(string(data), "\n") {
				line = strings.TrimRight(line, " \t\r")
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				if err := ig.add(line); err != nil {
					return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
				}
			}
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, fmt.Errorf("read ignore file: %w", err)
		}
	}
	ig.fileRules = len(ig.rules)
	for _, list := range patterns {
		for _, p := range strings.Split(list, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if err := ig.add(p); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range exactFiles {
		if rel, ok := relativeTo(root, f); ok {
			ig.exact[rel] = struct{}{}
		}
	}
	return ig, nil
}

// add parses one pattern and appends it to the rules.
func (ig *ignore) add(pattern string) error {
	r := ignoreRule{}
	p := pattern
	switch {
	case strings.HasPrefix(p, "!"):
		r.negate = true
		p = p[1:]
	case strings.HasPrefix(p, `\!`), strings.HasPrefix(p, `\#`):
		p = p[1:]
	}
	if strings.HasSuffix(p, "/") {
		r.dirOnly = true
		p = strings.TrimRight(p, "/")
	}
	r.anchored = strings.Contains(p, "/")
	for _, s := range strings.Split(p, "/") {
		if s == "" {
			continue
		}
		if s != "**" {
			if _, err := path.Match(s, ""); err != nil {
				return fmt.Errorf("ignore pattern %q: %w", pattern, err)
			}
		}
		r.segs = append(r.segs, s)
	}
	if len(r.segs) == 0 {
		return fmt.Errorf("ignore pattern %q: %w", pattern, errEmptyPattern)
	}
	ig.rules = append(ig.rules, r)
	return nil
}

// errEmptyPattern reports a pattern with nothing left to match once its markers are
// stripped, such as "!" or "/"; accepting it silently would hide a typo.
var errEmptyPattern = errors.New("empty pattern")

// relativeTo returns file as a slash-separated path relative to root, and whether it lies
// inside root. Both sides are also tried with symlinks resolved, because a log path and
// the root can name the same place through different links (/tmp and /private/tmp on
// macOS), and the log file may not exist yet, so only its directory is resolved.
func relativeTo(root, file string) (string, bool) {
	if file == "" {
		return "", false
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(root, file)
	}
	try := func(r, f string) (string, bool) {
		rel, err := filepath.Rel(r, f)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", false
		}
		return filepath.ToSlash(rel), true
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", false
	}
	if rel, ok := try(absRoot, file); ok {
		return rel, true
	}
	realRoot, err1 := filepath.EvalSymlinks(absRoot)
	realDir, err2 := filepath.EvalSymlinks(filepath.Dir(file))
	if err1 != nil || err2 != nil {
		return "", false
	}
	return try(realRoot, filepath.Join(realDir, filepath.Base(file)))
}

// Match reports whether the watcher skips rel, a path relative to the root (slash- or
// OS-separated), which names a directory if isDir. The root itself is never skipped.
// A path is skipped when it or any directory above it is skipped, which is what git does
// and what the watcher does by never listing a skipped directory.
func (ig *ignore) Match(rel string, isDir bool) bool {
	rel = path.Clean(filepath.ToSlash(rel))
	rel = strings.TrimPrefix(rel, "/")
	if rel == "." || rel == "" {
		return false
	}
	segs := strings.Split(rel, "/")
	for _, s := range segs {
		for _, a := range alwaysIgnored {
			if s == a {
				return true
			}
		}
	}
	if ig == nil {
		return false
	}
	if _, ok := ig.exact[rel]; ok {
		return true
	}
	if len(ig.rules) == 0 {
		return false
	}
	for i := 1; i < len(segs); i++ {
		if ig.matchRules(segs[:i], true) {
			return true
		}
	}
	return ig.matchRules(segs, isDir)
}

// matchRules applies the patterns in order to one path and returns the verdict of the
// last one that matched. A rule that could not change the current verdict is skipped
// without matching, which keeps long pattern lists cheap.
func (ig *ignore) matchRules(segs []string, isDir bool) bool {
	ignored := false
	for i := range ig.rules {
		r := &ig.rules[i]
		if ignored == !r.negate || (r.dirOnly && !isDir) {
			continue
		}
		if r.match(segs) {
			ignored = !r.negate
		}
	}
	return ignored
}

// match reports whether the rule matches the path segs. An unanchored rule has a single
// segment and matches the last segment of the path; Match checks every ancestor too, so
// that amounts to "a segment anywhere".
func (r *ignoreRule) match(segs []string) bool {
	if !r.anchored {
		ok, _ := path.Match(r.segs[0], segs[len(segs)-1])
		return ok
	}
	return matchSegs(r.segs, segs)
}

// matchSegs matches pattern segments against path segments from the root, where "**"
// stands for zero or more segments, except at the end, where it needs at least one, so
// that "build/**" covers what is inside build but not build itself, as in git.
func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return len(name) > 0
			}
			for i := 0; i < len(name); i++ {
				if matchSegs(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
