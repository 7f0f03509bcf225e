package store

import (
	"regexp"
	"sync"
)

// MaxNameLen bounds a process name, which becomes part of log file names.
const MaxNameLen = 64

var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`) })

// ValidateName checks that name can name a process and its log files: letters,
// digits, '.', '_' and '-', starting with a letter or digit, so it can never
// leave the log folder ("../x", "a/b") or hide control characters.
func ValidateName(name string) error {
	switch {
	case name == "":
		return Errorf(KindBadInput, "process name is empty")
	case len(name) > MaxNameLen:
		return Errorf(KindBadInput, "process name %q is longer than %d characters", name[:20]+"…", MaxNameLen)
	case !nameRE().MatchString(name):
		return Errorf(KindBadInput, "invalid process name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	return nil
}
