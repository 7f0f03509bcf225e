package store

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

func TestSchemaVersionCountsMigrations(t *testing.T) {
	if schemaVersion != len(migrations) {
		t.Fatalf("schemaVersion is %d with %d migrations; want one per migration", schemaVersion, len(migrations))
	}
}

// TestMigrateVersion1 opens a store written by a bgrun of schema version 1:
// its record survives, with the defaults of the new columns.
func TestMigrateVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bgr.sqlite")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{schema, "PRAGMA user_version = 1",
		`INSERT INTO process (name, command, workdir, stdout_path, stderr_path, created_at, updated_at)
		 VALUES ('api', 'sleep 9', '/tmp', 'o', 'e', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.Get("api")
	if err != nil {
		t.Fatal(err)
	}
	if r.Command != "sleep 9" || r.LogMaxSize != 0 || r.LogKeep != 0 || r.Ready != "" || r.MaxMemory != 0 {
		t.Fatalf("migrated record: %+v", r)
	}
	var v int
	db.sql.QueryRow("PRAGMA user_version").Scan(&v)
	if v != schemaVersion {
		t.Fatalf("user_version %d after opening, want %d", v, schemaVersion)
	}
}

func TestDutyFieldsRoundTrip(t *testing.T) {
	db := MustOpen(t)
	r := Record{Name: "api", Command: "x", Dir: "/", StdoutPath: "o", StderrPath: "e", LogMaxSize: -1,
		LogKeep: 5, Ready: "tcp:8080", ReadyTimeout: 1500 * time.Millisecond, HealthInterval: 2 * time.Second,
		MaxMemory: 512 << 20}
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	got, err := db.Get("api")
	if err != nil {
		t.Fatal(err)
	}
	if got.LogMaxSize != -1 || got.LogKeep != 5 || got.Ready != "tcp:8080" || got.ReadyTimeout != 1500*time.Millisecond ||
		got.HealthInterval != 2*time.Second || got.MaxMemory != 512<<20 {
		t.Fatalf("got %+v", got)
	}
}
