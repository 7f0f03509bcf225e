package run

import (
	"os"

	"bgrun/store"
)

// MaxFileSize bounds the config, .env and .bgrunignore files bgrun reads:
// they must be regular files of at most 1 MiB, so that /dev/zero or a FIFO
// named by mistake fails at once instead of filling the memory or hanging.
const MaxFileSize = 1 << 20

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
		f, created, err := store.OpenPrivate(l.path, os.O_WRONLY|os.O_APPEND)
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
