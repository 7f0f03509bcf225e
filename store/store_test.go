package store

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// MustOpen opens a store in a fresh temporary folder.
func MustOpen(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(filepath.Join(tb.TempDir(), "bgr.sqlite"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestPutGetKeepsIDAndEnv(t *testing.T) {
	db := MustOpen(t)
	r := Record{Name: "api", Command: "sleep 1", Dir: "/tmp", StdoutPath: "o", StderrPath: "e",
		Env: []string{"A=1,2", "B=x=y", "C=", "D=multi\nline"}, Status: StatusRunning, PID: 42,
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	id := r.ID
	r.PID = 43
	r.Command = "sleep 2"
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	got, err := db.Get("api")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.PID != 43 || got.Command != "sleep 2" {
		t.Fatalf("got %+v, want id %d pid 43", got, id)
	}
	if strings.Join(got.Env, "|") != "A=1,2|B=x=y|C=|D=multi\nline" {
		t.Fatalf("env not kept losslessly: %q", got.Env)
	}
	if !got.StartedAt.Equal(r.StartedAt) {
		t.Fatalf("started_at %v, want %v", got.StartedAt, r.StartedAt)
	}
}

func TestChildren(t *testing.T) {
	db := MustOpen(t)
	for _, r := range []Record{{Name: "web"}, {Name: "b", Parent: "web"}, {Name: "other"}, {Name: "a", Parent: "web"}, {Name: "c", Parent: "b"}} {
		if err := db.Put(&r); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{"web": "b a", "b": "c", "other": "", "none": ""} {
		got, err := db.Children(name)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("Children(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestNotFound(t *testing.T) {
	db := MustOpen(t)
	if _, err := db.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get: %v", err)
	}
	if err := db.Delete("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := db.Update("nope", func(*Record) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update: %v", err)
	}
}

func TestUpdateAndHistory(t *testing.T) {
	db := MustOpen(t)
	r := Record{Name: "w", Command: "c", Dir: "/", StdoutPath: "o", StderrPath: "e"}
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Update("w", func(r *Record) error { r.Restarts++; return nil }); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Get("w")
	if got.Restarts != 1 {
		t.Fatalf("restarts %d", got.Restarts)
	}
	for _, ev := range []EventKind{EventStart, EventExit, EventRestart} {
		if err := db.AddEvent(Event{Name: "w", Event: ev, PID: 7, Detail: Detail{Code: ptr(1)}}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := db.Events("w", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Event != "restart" || evs[1].Event != "exit" || evs[0].Detail.Code == nil || *evs[0].Detail.Code != 1 {
		t.Fatalf("events %+v", evs)
	}
}

func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bgr.sqlite")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(path)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			r := Record{Name: "p" + string(rune('a'+i)), Command: "c", Dir: "/", StdoutPath: "o", StderrPath: "e"}
			errs <- db.Put(&r)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, _ := db.List()
	if len(all) != 20 {
		t.Fatalf("%d records, want 20", len(all))
	}
}

func TestNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.sqlite")
	if err := os.WriteFile(path, []byte(strings.Repeat("this is not sqlite\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), "not a bgrun store") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v", err)
	}
}

func TestSchemaVersion(t *testing.T) {
	db := MustOpen(t)
	var v int
	if err := db.sql.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("user_version %d, %v", v, err)
	}
	var mode string
	if err := db.sql.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
	// Reopening an up-to-date store migrates nothing.
	if err := db.migrate(); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateV1KeepsRecordsAndSetsWanted opens a store written by a bgrun
// before `wanted` existed: its records survive, and those not stopped on
// purpose count as wanted.
func TestMigrateV1KeepsRecordsAndSetsWanted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.sqlite")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, q := range []string{schema, "PRAGMA user_version = 1"} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, row := range [][2]string{{"up", string(StatusRunning)}, {"down", string(StatusStopped)}, {"broke", string(StatusFailed)}} {
		_, err := old.Exec(`INSERT INTO process (name, command, workdir, stdout_path, stderr_path, status, created_at, updated_at)
			VALUES (?, 'sleep 1', '/tmp', 'o', 'e', ?, ?, ?)`, row[0], row[1], now, now)
		if err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]bool{"up": true, "down": false, "broke": true}
	recs, err := db.List()
	if err != nil || len(recs) != 3 {
		t.Fatalf("List = %d records, %v; want 3", len(recs), err)
	}
	for _, r := range recs {
		if r.Wanted != want[r.Name] {
			t.Errorf("%s: wanted = %v, want %v", r.Name, r.Wanted, want[r.Name])
		}
	}
	var v int
	db.sql.QueryRow("PRAGMA user_version").Scan(&v)
	if v != schemaVersion {
		t.Errorf("user_version = %d, want %d", v, schemaVersion)
	}
	r := recs[0]
	r.Wanted = !r.Wanted
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Get(r.Name); got.Wanted != r.Wanted {
		t.Errorf("after Put, wanted = %v, want %v", got.Wanted, r.Wanted)
	}
}

// TestMigrateFromVersion1 opens a store written by a bgrun of schema
// version 1: its records stay, and the columns added later read as empty.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.sqlite")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// Rebuild the file as version 1 had it.
	for _, q := range []string{"DROP TABLE process", "DROP TABLE history", "DROP TABLE stack", schema, "PRAGMA user_version = 1",
		`INSERT INTO process (name, command, workdir, stdout_path, stderr_path, status, created_at, updated_at)
		 VALUES ('old', 'sleep 1', '/tmp', 'o', 'e', 'running', '', '')`} {
		if _, err := db.sql.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.Get("old")
	if err != nil {
		t.Fatal(err)
	}
	if r.Command != "sleep 1" || r.Instance != "" || r.Leader != "" || r.StderrOffset != 0 {
		t.Fatalf("migrated record %+v", r)
	}
	r.Instance, r.Leader, r.StderrOffset = "1.abc", LeaderProgram, 12
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Get("old"); got.Instance != "1.abc" || got.Leader != LeaderProgram || got.StderrOffset != 12 {
		t.Fatalf("new columns not kept: %+v", got)
	}
}

// TestLock: one holder at a time per name; names do not block each other;
// the lock is free again once released.
func TestLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no file locks on Windows")
	}
	db := MustOpen(t)
	unlock, err := db.Lock("a")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok, err := db.TryLock("a"); ok || err != nil {
		if u != nil {
			u()
		}
		t.Fatalf("TryLock of a held lock: ok=%v err=%v", ok, err)
	}
	ub, ok, err := db.TryLock("b")
	if !ok || err != nil {
		t.Fatalf("TryLock of another name: ok=%v err=%v", ok, err)
	}
	ub()
	got := make(chan struct{})
	go func() {
		u, err := db.Lock("a")
		if err == nil {
			u()
		}
		close(got)
	}()
	unlock()
	<-got
	if _, _, err := db.TryLock("../x"); err == nil {
		t.Fatal("a bad name was locked")
	}
}

func TestWindow(t *testing.T) {
	def := 500 * time.Millisecond
	for w, want := range map[time.Duration]time.Duration{0: def, -1: 0, time.Second: time.Second} {
		if got := (Record{StartWindow: w}).Window(def); got != want {
			t.Errorf("Window of a record with StartWindow %v = %v, want %v", w, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
