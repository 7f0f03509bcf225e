// Package store keeps bgrun's records in one SQLite file shared by every bgrun
// process: the CLI, supervisors and the dashboard.
//
// The store is the only package that imports the SQLite driver. Each
// invocation opens the file, does a few short transactions and closes it;
// WAL mode and a busy timeout let many writers take turns.
package store

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned when no record has the asked name.
var ErrNotFound = errors.New("no such process")

// Leader values: what the pid of a record is.
const (
	LeaderProgram = "program" // a simple command run with exec: the pid is the program's
	LeaderShell   = "shell"   // a compound command: the pid is the shell's
)

// Record is one managed process, one row per name. Its ID stays the same
// across restarts.
type Record struct {
	ID   int64
	Name string

	// PID, PGID and StartTicks identify the process: a pid counts as ours
	// only while its kernel start time still equals StartTicks.
	PID        int
	PGID       int
	StartTicks uint64

	Command string
	Dir     string
	// Env is the caller's environment captured at the last explicit start,
	// as "KEY=VALUE" strings; restarts from elsewhere reuse it.
	Env []string
	// Set holds variables given explicitly (dashboard form, --set); they win
	// over the caller's environment and the config.
	Set []string
	// ConfigPath is the TOML config given with --config, "" for the default
	// .config.toml; NoConfig turns config loading off.
	ConfigPath string
	NoConfig   bool
	EnvFiles   []string
	Group      string
	Parent     string

	StdoutPath string
	StderrPath string
	// StdoutOwned and StderrOwned say that bgrun created the log file at
	// that path; only such files are ever deleted.
	StdoutOwned bool
	StderrOwned bool

	Status    Status
	StartedAt time.Time
	// ExitCode and ExitSignal describe the last exit seen; ExitedAt is zero
	// when none was seen.
	ExitCode   int
	ExitSignal string
	ExitedAt   time.Time

	// Guard, Watch and WatchIgnore configure the supervisor; SupervisorPID
	// and SupervisorTicks identify it while it runs.
	Guard           bool
	Watch           bool
	WatchIgnore     []string
	SupervisorPID   int
	SupervisorTicks uint64
	// Restarts counts the restarts bgrun made since the last start by hand:
	// the guard's tries, the watcher's and the duties' restarts.
	Restarts    int
	MaxRestarts int // the guard gives up after this many restarts in a row; 0 never
	// Backoff is the guard's wait before its next try, while restarting;
	// Crashes how many quick crashes in a row it counted (see Guard).
	Backoff time.Duration
	Crashes int
	GaveUp  bool
	// EverRan says some start of the record got past its startup: a record
	// whose first start failed is not wanted at boot.
	EverRan bool
	// FailReason says why the last start failed ("not ready: connection
	// refused"), "" when it did not.
	FailReason string
	// StopTimeout is how long a stop of it waits after SIGTERM, as its last
	// start was given; 0 for the default. KillBy is when its last stop
	// gives what still runs SIGKILL.
	StopTimeout time.Duration
	KillBy      time.Time
	// Wanted says the user wants it running: set by every start or restart,
	// cleared only by a deliberate stop. A crash, a reboot or a killed
	// process leave it as it is, so `bgrun resurrect` knows what to start.
	Wanted bool
	// StdoutSize and StderrSize are the sizes of the log files just before
	// the last spawn (run.Launch); they are not stored in the record but in
	// the history event of that start, where they mark where each run begins.
	StdoutSize, StderrSize int64

	// Instance is the marker of the last start, BGR_INSTANCE in the
	// environment of every process of that start; Leader says whether the
	// pid is the program or its shell; StderrOffset is the stderr log's size
	// at that spawn, so a failed start shows only its own lines.
	Instance     string
	Leader       string
	StderrOffset int64

	// LogMaxSize is the size in bytes past which the log files are rotated:
	// 0 for the default (10 MB), negative for never. LogKeep is how many
	// rotated copies are kept, 0 for the default (3).
	LogMaxSize int64
	LogKeep    int
	// Ready is the readiness probe of a start (http://HOST:PORT/PATH,
	// tcp:PORT, cmd:COMMAND), "" for none; ReadyTimeout bounds the wait for
	// it, 0 for the default. HealthInterval is how often a guarded record's
	// probe is repeated, 0 for the default. MaxMemory is the RSS in bytes
	// of its tree past which the supervisor restarts it, 0 for no limit.
	Ready          string
	ReadyTimeout   time.Duration
	HealthInterval time.Duration
	MaxMemory      int64
	// StartWindow is the startup window its last start was given (a process
	// that ends within it failed to start): the supervisor gives the
	// guard's restarts the same one. 0 when not known (an older bgrun
	// wrote the record), negative for none.
	StartWindow time.Duration

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Event is one entry of a record's history. Its JSON form is what `bgrun
// history --json` and the dashboard's /api/history print.
type Event struct {
	ID     int64     `json:"id"`
	Name   string    `json:"process_name"`
	Event  EventKind `json:"event"`
	PID    int       `json:"pid"`
	At     time.Time `json:"timestamp"`
	Detail Detail    `json:"metadata"`
}

// DB is an open store.
type DB struct {
	sql  *sql.DB
	path string
	now  func() time.Time
	// prepared are the statements of the writes, prepared once per DB (see
	// writes); mu guards it.
	mu       sync.Mutex
	prepared *writeStmts
}

// writeStmts are the prepared statements of the writes.
type writeStmts struct{ sel, ups, event *sql.Stmt }

// writes returns the statements of the writes, preparing them on first use:
// a bulk stop makes a hundred updates, and SQLite would parse each. A
// failed preparation is tried again by the next write.
func (db *DB) writes() (writeStmts, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.prepared != nil {
		return *db.prepared, nil
	}
	var w writeStmts
	var err error
	for _, s := range []struct {
		p *(*sql.Stmt)
		q string
	}{{&w.sel, selectSQL + " WHERE name = ?"}, {&w.ups, upsertSQL}, {&w.event, insertEventSQL}} {
		if *s.p, err = db.sql.Prepare(s.q); err != nil {
			return w, cleanErr(err)
		}
	}
	db.prepared = &w
	return w, nil
}

//go:embed schema.sql
var schema string

// schemaVersion is written to PRAGMA user_version once every migration
// (migrate.go) is applied.
var schemaVersion = len(migrations)

// Home returns bgrun's folder: $BGR_HOME, else ~/.bgr.
func Home() (string, error) {
	if h := os.Getenv("BGR_HOME"); h != "" {
		return h, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home folder: %w", err)
	}
	return filepath.Join(home, ".bgr"), nil
}

// DefaultPath returns where the store lives when --db is not given:
// ~/.bgr/bgr.sqlite, or ~/.bgr/NAME/NAME.sqlite for DB_NAME=NAME, in a folder
// of its own with its files (a store made by an older bgrun as
// ~/.bgr/NAME.sqlite stays where it is).
func DefaultPath() (string, error) {
	home, err := Home()
	if err != nil {
		return "", err
	}
	name := os.Getenv("DB_NAME")
	if name == "" {
		name = "bgr"
	}
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("DB_NAME %q must be a plain file name", name)
	}
	if !strings.HasSuffix(name, ".sqlite") {
		name += ".sqlite"
	}
	if name == DefaultName {
		return filepath.Join(home, name), nil
	}
	if old := filepath.Join(home, name); fileExists(old) {
		return old, nil
	}
	return filepath.Join(home, strings.TrimSuffix(name, ".sqlite"), name), nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Open opens (creating if needed) the store at path and brings its schema up
// to date.
func Open(path string) (*DB, error) {
	// The store holds environments (secrets): its folder and files are its
	// owner's alone. SQLite gives the -wal and -shm files the mode of the
	// store file, so creating that one 0600 first covers all three.
	if err := MkdirPrivate(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One connection: a CLI does one thing at a time, and PRAGMA data_version
	// only means something on a connection that stays the same.
	sdb.SetMaxOpenConns(1)
	db := &DB{sql: sdb, path: path, now: time.Now}
	// Switching a new file to WAL and creating the schema take an exclusive
	// lock, and SQLite answers "busy" there without waiting when many bgrun
	// processes open a fresh store at once: try again for a while.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err = db.migrate()
		if err == nil {
			tightenStore(path)
			return db, nil
		}
		if !isBusy(err) || time.Now().After(deadline) {
			sdb.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
	}
}

// sqliteCode returns the primary result code of an error of SQLite, 0 for
// any other error.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool { return sqliteCode(err) == sqlite3.SQLITE_BUSY }

func (db *DB) migrate() error {
	var v int
	if err := db.sql.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return cleanErr(err)
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("store schema version %d is newer than this bgrun understands (%d)", v, schemaVersion)
	}
	tx, err := db.sql.Begin()
	if err != nil {
		return cleanErr(err)
	}
	defer tx.Rollback()
	if err := tx.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return cleanErr(err)
	}
	if v == schemaVersion { // another process migrated while we waited
		return nil
	}
	for i := v; i < schemaVersion; i++ {
		if err := migrations[i](tx, db.Dir()); err != nil {
			return fmt.Errorf("migrate the store to version %d: %w", i+1, cleanErr(err))
		}
	}
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return cleanErr(err)
	}
	return cleanErr(tx.Commit())
}

// cleanErr turns the driver's errors into one-line messages a user can act on.
func cleanErr(err error) error {
	if err == nil {
		return nil
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_NOTADB:
		return errors.New("file is not a bgrun store (not an SQLite database)")
	case sqlite3.SQLITE_CANTOPEN:
		return errors.New("cannot open the database file")
	}
	return err
}

// Path returns the file the store was opened from.
func (db *DB) Path() string { return db.path }

// Close closes the store.
func (db *DB) Close() error { return db.sql.Close() }

// SetClock replaces the clock used for timestamps (tests).
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// DataVersion returns a number that changes whenever another connection
// commits a change, so a watcher can poll cheaply for changes.
func (db *DB) DataVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.sql.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
	return v, err
}

type scanner interface{ Scan(...any) error }

// scanRecord reads one row of selectSQL into a Record.
func scanRecord(s scanner) (Record, error) {
	var r Record
	dst := make([]any, len(columns))
	for i, c := range columns {
		dst[i] = c.field(&r)
	}
	err := s.Scan(dst...)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("record %q: %w", r.Name, err)
	}
	return r, err
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// Get returns the record named name, or ErrNotFound.
func (db *DB) Get(name string) (Record, error) {
	r, err := scanRecord(db.sql.QueryRow(selectSQL+" WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w named %q", ErrNotFound, name)
	}
	return r, cleanErr(err)
}

// List returns every record, oldest first.
func (db *DB) List() ([]Record, error) {
	rows, err := db.sql.Query(selectSQL + " ORDER BY id")
	if err != nil {
		return nil, cleanErr(err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, cleanErr(rows.Err())
}

// Children returns the names of the records whose parent is name (started
// from inside its tree), oldest first.
func (db *DB) Children(name string) ([]string, error) {
	rows, err := db.sql.Query("SELECT name FROM process WHERE parent = ? ORDER BY id", name)
	if err != nil {
		return nil, cleanErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, cleanErr(err)
		}
		out = append(out, n)
	}
	return out, cleanErr(rows.Err())
}

// Put inserts r, or replaces the record of the same name while keeping its
// ID and creation time. It sets r.ID.
func (db *DB) Put(r *Record) error {
	now := db.now()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.UpdatedAt = now
	w, err := db.writes()
	if err == nil {
		err = upsert(w.ups, r)
	}
	if err != nil {
		return fmt.Errorf("save %q: %w", r.Name, cleanErr(err))
	}
	return nil
}

func (db *DB) inTx(fn func(*sql.Tx) error) error {
	tx, err := db.sql.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Update reads the record named name, lets fn change it and writes it back,
// all in one transaction, so concurrent updates never lose each other's
// changes. It changes no status: that is for the transitions of the
// lifecycle (lifecycle.go), and a status fn sets is dropped.
func (db *DB) Update(name string, fn func(*Record) error) (Record, error) {
	return db.write(name, func(r *Record) ([]Event, error) {
		status := r.Status
		err := fn(r)
		r.Status = status
		return nil, err
	})
}

// write reads the record named name, lets fn change it and name the events
// to append, and writes both in one transaction: the history follows the
// record, and one write costs one commit.
func (db *DB) write(name string, fn func(*Record) ([]Event, error)) (Record, error) {
	var r Record
	w, err := db.writes()
	if err != nil {
		return r, fmt.Errorf("update %q: %w", name, err)
	}
	err = db.inTx(func(tx *sql.Tx) error {
		var err error
		r, err = scanRecord(tx.Stmt(w.sel).QueryRow(name))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w named %q", ErrNotFound, name)
		}
		if err != nil {
			return err
		}
		evs, err := fn(&r)
		if err != nil {
			return err
		}
		r.Name = name
		r.UpdatedAt = db.now()
		if err := upsert(tx.Stmt(w.ups), &r); err != nil {
			return err
		}
		for _, e := range evs {
			e.Name = name
			if err := db.insertEvent(tx.Stmt(w.event), e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrChanged) {
		err = fmt.Errorf("update %q: %w", name, cleanErr(err))
	}
	return r, err
}

// Delete removes the record named name; its history stays.
func (db *DB) Delete(name string) error {
	res, err := db.sql.Exec("DELETE FROM process WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("delete %q: %w", name, cleanErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w named %q", ErrNotFound, name)
	}
	return nil
}

// AddEvent appends e to the history; a zero At means now.
func (db *DB) AddEvent(e Event) error {
	w, err := db.writes()
	if err == nil {
		err = db.insertEvent(w.event, e)
	}
	if err != nil {
		return fmt.Errorf("history: %w", cleanErr(err))
	}
	return nil
}

// insertEvent appends e with ins, the prepared insertEventSQL.
func (db *DB) insertEvent(ins *sql.Stmt, e Event) error {
	if e.At.IsZero() {
		e.At = db.now()
	}
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("history detail: %w", err)
	}
	_, err = ins.Exec(e.Name, e.Event, e.PID, formatTime(e.At), string(detail))
	return err
}

const insertEventSQL = "INSERT INTO history (process_name, event, pid, at, detail) VALUES (?,?,?,?,?)"

// Events returns history newest first: of one record when name is not "",
// at most limit entries (all when limit <= 0).
func (db *DB) Events(name string, limit int) ([]Event, error) {
	q := "SELECT id, process_name, event, pid, at, detail FROM history"
	var args []any
	if name != "" {
		q += " WHERE process_name = ?"
		args = append(args, name)
	}
	q += " ORDER BY id DESC"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := db.sql.Query(q, args...)
	if err != nil {
		return nil, cleanErr(err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at, detail string
		if err := rows.Scan(&e.ID, &e.Name, &e.Event, &e.PID, &at, &detail); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		e.Detail = decodeDetail(detail)
		out = append(out, e)
	}
	if out == nil {
		out = []Event{} // an empty history is [] in JSON, not null
	}
	return out, cleanErr(rows.Err())
}
