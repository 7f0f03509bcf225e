package run

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"bgrun/store"
)

// MaxFileSize bounds the config, .env and .bgrunignore files bgrun reads:
// they must be regular files of at most 1 MiB, so that /dev/zero or a FIFO
// named by mistake fails at once instead of filling the memory or hanging.
const MaxFileSize = 1 << 20

// createLog opens the log at path for appending, creating it (and its
// folder) private when missing; created says whether it did.
func createLog(path string) (f *os.File, created bool, err error) {
	// A FIFO would block the open until some reader came; a socket or a
	// folder cannot be appended to. A device (/dev/null) is fine.
	if fi, err := os.Stat(path); err == nil && fi.Mode()&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeDir) != 0 {
		return nil, false, store.Errorf(store.KindBadInput, "log %s is %s: give a file, or /dev/null", path, store.FileKind(fi.Mode()))
	}
	if err := store.MkdirPrivate(filepath.Dir(path)); err != nil {
		return nil, false, fmt.Errorf("create log folder: %w", err)
	}
	f, created, err = store.OpenPrivate(path, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return nil, false, fmt.Errorf("open log: %w", err)
	}
	return f, created, nil
}

// checkLogs refuses log paths that bgrun must not write to, before a start
// changes anything: one of the store's own files (see store.DB.OwnFile),
// and a log that rotation is new to (a log new to the record, or one it did
// not rotate before) while a rotated copy's name of it is taken already
// (LOG.1 ... LOG.KEEP): rotation would replace that file, and deleting the
// record would remove it, though bgrun never made it.
func checkLogs(db *store.DB, rec store.Record, old store.Record, exists bool) error {
	maxSize, keep := rec.LogLimits()
	if maxSize <= 0 {
		keep = 0
	}
	oldMax, _ := old.LogLimits()
	for i, p := range []string{rec.StdoutPath, rec.StderrPath} {
		if db.OwnFile(p) {
			return store.Errorf(store.KindBadInput, "log %s is a file of bgrun's store: give another path", p)
		}
		if store.IsDatabase(p) {
			return store.Errorf(store.KindBadInput, "log %s is a database (or named as one): give another path", p)
		}
		if exists && oldMax > 0 && p == []string{old.StdoutPath, old.StderrPath}[i] {
			continue // its rotated copies are bgrun's own
		}
		for n := 1; n <= keep; n++ {
			c := fmt.Sprintf("%s.%d", p, n)
			if _, err := os.Lstat(c); err == nil {
				return store.Errorf(store.KindBadInput,
					"log %s: %s exists and is not bgrun's; log rotation would replace it: move it, choose another log, or give --log-max-size 0", p, c)
			}
		}
	}
	return nil
}

// claimLogs creates rec's log files that do not exist yet, 0600, and
// records which of them bgrun created: only those are ever deleted with the
// record. A log path that changed since the last start starts out as the
// user's. old is the stored record, if any.
func claimLogs(rec *store.Record, old store.Record, exists bool) error {
	if !exists || rec.StdoutPath != old.StdoutPath {
		rec.StdoutOwned = false
	}
	if !exists || rec.StderrPath != old.StderrPath {
		rec.StderrOwned = false
	}
	for _, l := range []struct {
		path  string
		owned *bool
	}{{rec.StdoutPath, &rec.StdoutOwned}, {rec.StderrPath, &rec.StderrOwned}} {
		f, created, err := createLog(l.path)
		if err != nil {
			return err
		}
		f.Close()
		if created {
			*l.owned = true
		}
	}
	if rec.StdoutPath == rec.StderrPath {
		rec.StderrOwned = rec.StdoutOwned || rec.StderrOwned
		rec.StdoutOwned = rec.StderrOwned
	}
	return nil
}
