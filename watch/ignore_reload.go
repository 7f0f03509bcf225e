package watch

import "path/filepath"

// file returns the path of the ignoreFile that ig was read from, or "" if ig was built
// without a root and so never reads one.
func (ig *ignore) file() string {
	if ig == nil || ig.root == "" {
		return ""
	}
	return filepath.Join(ig.root, ignoreFile)
}

// reload returns the rules ig would hold if it were built now: the ignoreFile read again
// through newIgnore (so every check on reading it applies), followed by the patterns and
// exact files ig was given, which do not change. ig itself is left as it was, since a
// scan may still be using it.
func (ig *ignore) reload() (*ignore, error) {
	fresh, err := newIgnore(ig.root, nil, nil)
	if err != nil {
		return nil, err
	}
	fresh.rules = append(fresh.rules, ig.rules[ig.fileRules:]...)
	fresh.exact = ig.exact // never written after newIgnore, so safe to share
	return fresh, nil
}
