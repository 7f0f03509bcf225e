package store

import (
	"database/sql"
	"os"
	"path/filepath"
)

// migrations bring a store from version i (PRAGMA user_version) to i+1;
// migrations[0] creates a fresh store. Each runs in the transaction that
// writes the new version, so a store is never left half migrated. dir is
// the store's folder.
var migrations = []func(tx *sql.Tx, dir string) error{
	func(tx *sql.Tx, _ string) error {
		_, err := tx.Exec(schema)
		return err
	},
	migrateOwnedLogs,
	migrateWanted,
	migrateInstance,
	migrateDuties,
	migrateWindow,
	migrateLifecycle,
}

// migrateLifecycle (version 7) adds what the one lifecycle keeps: the
// guard's crash count, whether a record ever ran, why its last start
// failed, its stop timeout and its last stop's deadline, and the epochs of
// stacks (see StackEpoch). A
// record that ran before keeps counting as one that ran.
func migrateLifecycle(tx *sql.Tx, _ string) error {
	_, err := tx.Exec(`ALTER TABLE process ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE process ADD COLUMN ever_ran INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE process ADD COLUMN fail_reason TEXT NOT NULL DEFAULT '';
	ALTER TABLE process ADD COLUMN stop_timeout_ms INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE process ADD COLUMN kill_by TEXT NOT NULL DEFAULT '';
	UPDATE process SET ever_ran = (started_at != '' AND status != 'failed');
	CREATE TABLE stack (path TEXT PRIMARY KEY, epoch INTEGER NOT NULL DEFAULT 0);`)
	return err
}

// migrateWindow (version 6) records each start's startup window, which the
// supervisor used to take from its own environment.
func migrateWindow(tx *sql.Tx, _ string) error {
	_, err := tx.Exec(`ALTER TABLE process ADD COLUMN startup_window_ms INTEGER NOT NULL DEFAULT 0`)
	return err
}

// migrateDuties (version 5) adds log rotation, readiness and health checks
// and the memory limit; 0 means the default.
func migrateDuties(tx *sql.Tx, _ string) error {
	_, err := tx.Exec(`ALTER TABLE process ADD COLUMN log_max_size INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE process ADD COLUMN log_keep INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE process ADD COLUMN ready TEXT NOT NULL DEFAULT '';
	ALTER TABLE process ADD COLUMN ready_timeout_ms INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE process ADD COLUMN health_interval_ms INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE process ADD COLUMN max_memory INTEGER NOT NULL DEFAULT 0;`)
	return err
}

// migrateInstance (version 4) adds the start's marker, what leads it (the
// program or its shell) and the stderr log's size at the spawn.
func migrateInstance(tx *sql.Tx, _ string) error {
	_, err := tx.Exec(`ALTER TABLE process ADD COLUMN instance TEXT NOT NULL DEFAULT '';
	ALTER TABLE process ADD COLUMN leader TEXT NOT NULL DEFAULT '';
	ALTER TABLE process ADD COLUMN stderr_offset INTEGER NOT NULL DEFAULT 0;`)
	return err
}

// migrateWanted (version 3) adds wanted: a record that was not stopped on
// purpose is taken as wanted.
func migrateWanted(tx *sql.Tx, _ string) error {
	_, err := tx.Exec(`ALTER TABLE process ADD COLUMN wanted INTEGER NOT NULL DEFAULT 0;
	UPDATE process SET wanted = (status != 'stopped');`)
	return err
}

// migrateOwnedLogs (version 2) records whether bgrun created each log file,
// so that delete, clean and nuke remove only those. A record made before
// cannot say: its logs count as bgrun's when they are the default ones in
// bgrun's folder, and as the user's anywhere else.
func migrateOwnedLogs(tx *sql.Tx, dir string) error {
	for _, col := range []string{"stdout_owned", "stderr_owned"} {
		if _, err := tx.Exec("ALTER TABLE process ADD COLUMN " + col + " INTEGER NOT NULL DEFAULT 0"); err != nil {
			return err
		}
	}
	rows, err := tx.Query("SELECT name, stdout_path, stderr_path FROM process")
	if err != nil {
		return err
	}
	type paths struct{ name, out, err string }
	var all []paths
	for rows.Next() {
		var p paths
		if err := rows.Scan(&p.name, &p.out, &p.err); err != nil {
			rows.Close()
			return err
		}
		all = append(all, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	home, herr := Home()
	for _, p := range all {
		own := func(path, kind string) bool {
			return herr == nil && filepath.Clean(dir) == filepath.Clean(home) && path == LogPath(dir, p.name, kind)
		}
		if _, err := tx.Exec("UPDATE process SET stdout_owned = ?, stderr_owned = ? WHERE name = ?",
			own(p.out, "out"), own(p.err, "err"), p.name); err != nil {
			return err
		}
	}
	return nil
}

// createPrivate creates the file at path 0600 unless it exists.
func createPrivate(path string) error {
	f, _, err := OpenPrivate(path, os.O_RDWR)
	if err != nil {
		return err
	}
	return f.Close()
}

// tightenStore makes an existing store's files 0600 (an older bgrun made
// them 0644); the store's owner keeps them, another user's store is left.
func tightenStore(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		tighten(p, 0o600)
	}
}
