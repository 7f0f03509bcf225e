package store

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// notStored are the Record fields that no column holds (see Record).
var notStored = map[string]bool{"StdoutSize": true, "StderrSize": true}

// fullRecord returns a record named name whose every stored field holds a
// value other than its zero value, so that a field the column table misses
// comes back different.
func fullRecord(t *testing.T, name string) Record {
	t.Helper()
	var r Record
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		if notStored[sf.Name] {
			continue
		}
		switch {
		case sf.Type == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, i, 5000+i, time.UTC)))
		case sf.Type == reflect.TypeFor[time.Duration]():
			f.SetInt(int64(i+1) * int64(time.Millisecond))
		case f.Kind() == reflect.String:
			f.SetString(sf.Name + " value, with = and \"quotes\"")
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.CanInt():
			f.SetInt(int64(-1000 - i))
		case f.CanUint():
			f.SetUint(1<<63 + uint64(i)) // past int64: stored as its two's complement
		case sf.Type == reflect.TypeFor[[]string]():
			f.Set(reflect.ValueOf([]string{sf.Name + "=1,2", "B=x=y", "C=multi\nline"}))
		default:
			t.Fatalf("Record.%s: a %s, which this test does not know how to fill", sf.Name, sf.Type)
		}
	}
	r.ID = 0 // assigned by the store
	r.Name = name
	return r
}

// sameRecord fails unless every stored field of got equals want's.
func sameRecord(t *testing.T, got, want Record) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		name := g.Type().Field(i).Name
		if notStored[name] {
			continue
		}
		a, b := g.Field(i).Interface(), w.Field(i).Interface()
		if ta, ok := a.(time.Time); ok {
			if !ta.Equal(b.(time.Time)) {
				t.Errorf("%s = %v, want %v", name, a, b)
			}
			continue
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s = %#v, want %#v", name, a, b)
		}
	}
}

// roundTrip writes a full record to db and reads it back, by Get and List.
func roundTrip(t *testing.T, db *DB) {
	t.Helper()
	now := time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC)
	db.SetClock(func() time.Time { return now })
	r := fullRecord(t, "full")
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || !r.UpdatedAt.Equal(now) {
		t.Fatalf("after Put: id %d, updated_at %v", r.ID, r.UpdatedAt)
	}
	got, err := db.Get("full")
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, got, r)
	all, err := db.List()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(x Record) bool { return x.Name == "full" })
	if i < 0 {
		t.Fatalf("List misses the record: %+v", all)
	}
	sameRecord(t, all[i], r)
}

// TestColumnsRoundTrip writes a record with every stored field set and
// reads back the same values.
func TestColumnsRoundTrip(t *testing.T) {
	roundTrip(t, MustOpen(t))
}

// TestColumnsRoundTripMigrated does the same on a store made by a bgrun of
// schema version 1 and migrated since, whose old record reads back too.
func TestColumnsRoundTripMigrated(t *testing.T) {
	db := openVersion1(t)
	old, err := db.Get("old")
	if err != nil || old.Command != "sleep 1" || old.Status != StatusRunning || !old.Wanted {
		t.Fatalf("old record: %+v, %v", old, err)
	}
	roundTrip(t, db)
}

// openVersion1 opens a store that was written by a bgrun of schema version
// 1, with one record "old".
func openVersion1(t *testing.T) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.sqlite")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{schema, "PRAGMA user_version = 1",
		`INSERT INTO process (name, command, workdir, stdout_path, stderr_path, status, created_at, updated_at)
		 VALUES ('old', 'sleep 1', '/tmp', 'o', 'e', 'running', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestColumnsMatchSchema fails when the column table and the schema that
// the migrations make disagree: a column without its migration, or a
// migration whose column the table does not read.
func TestColumnsMatchSchema(t *testing.T) {
	var want []string
	for _, c := range columns {
		want = append(want, c.name)
	}
	slices.Sort(want)
	for name, db := range map[string]*DB{"fresh": MustOpen(t), "migrated from version 1": openVersion1(t)} {
		rows, err := db.sql.Query("SELECT name FROM pragma_table_info('process') ORDER BY name")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		rows.Close()
		if !slices.Equal(got, want) {
			t.Errorf("%s store: the process table has columns\n%v\nthe column table names\n%v", name, got, want)
		}
	}
}

// TestUpsertKeepsID: writing a record again, by Put or Update, keeps its id
// and creation time, and a new name still gets the next id.
func TestUpsertKeepsID(t *testing.T) {
	db := MustOpen(t)
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { return day })
	a := Record{Name: "a", Command: "c", Dir: "/", StdoutPath: "o", StderrPath: "e"}
	b := Record{Name: "b", Command: "c", Dir: "/", StdoutPath: "o", StderrPath: "e"}
	if err := db.Put(&a); err != nil {
		t.Fatal(err)
	}
	if err := db.Put(&b); err != nil {
		t.Fatal(err)
	}
	db.SetClock(func() time.Time { return day.Add(time.Hour) })
	for i := range 3 {
		again := Record{Name: "a", Command: "c2", Dir: "/", StdoutPath: "o", StderrPath: "e", PID: i + 1}
		if err := db.Put(&again); err != nil {
			t.Fatal(err)
		}
		if again.ID != a.ID {
			t.Fatalf("Put again: id %d, want %d", again.ID, a.ID)
		}
		u, err := db.Update("a", func(r *Record) error { r.Restarts++; r.ID = 99; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if u.Restarts != 1 {
			t.Fatalf("Update: restarts %d", u.Restarts)
		}
	}
	got, err := db.Get("a")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Command != "c2" || got.PID != 3 || !got.CreatedAt.Equal(day) ||
		!got.UpdatedAt.Equal(day.Add(time.Hour)) {
		t.Fatalf("got %+v; want id %d, command c2, pid 3, created %v", got, a.ID, day)
	}
	c := Record{Name: "c", Command: "c", Dir: "/", StdoutPath: "o", StderrPath: "e"}
	if err := db.Put(&c); err != nil {
		t.Fatal(err)
	}
	if c.ID != b.ID+1 {
		t.Fatalf("a new name after updates got id %d, want %d", c.ID, b.ID+1)
	}
}

// TestValuesKeepTheirStrings: statuses and event kinds are stored and
// printed (`--json`, the dashboard's JavaScript, users' jq) as these exact
// strings.
func TestValuesKeepTheirStrings(t *testing.T) {
	statuses := map[Status]string{StatusRunning: "running", StatusStopped: "stopped", StatusFailed: "failed",
		StatusStarting: "starting", StatusRestarting: "restarting", StatusErrored: "errored",
		StatusExited: "exited", StatusKilled: "killed"}
	events := map[EventKind]string{EventStart: "start", EventRestart: "restart", EventGuardRestart: "guard_restart",
		EventFailed: "failed", EventExit: "exit", EventStop: "stop", EventDelete: "delete", EventBackoff: "backoff",
		EventGuardGaveUp: "guard_gave_up", EventGuardOn: "guard_on", EventGuardOff: "guard_off",
		EventUnhealthy: "unhealthy", EventMaxMemory: "max_memory", EventNotReady: "not_ready"}
	db := MustOpen(t)
	for st, want := range statuses {
		r := Record{Name: want, Command: "c", Dir: "/", StdoutPath: "o", StderrPath: "e", Status: st}
		if err := db.Put(&r); err != nil {
			t.Fatal(err)
		}
		var raw string
		if err := db.sql.QueryRow("SELECT status FROM process WHERE name = ?", want).Scan(&raw); err != nil || raw != want {
			t.Errorf("status %q stored as %q (%v)", want, raw, err)
		}
	}
	for ev, want := range events {
		if err := db.AddEvent(Event{Name: "x", Event: ev}); err != nil {
			t.Fatal(err)
		}
		evs, err := db.Events("x", 1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(evs[0])
		if !strings.Contains(string(b), `"event":"`+want+`"`) {
			t.Errorf("event %q printed as %s", want, b)
		}
	}
}

// TestListDecode holds the fast path of a stored list to encoding/json: on
// every input the two agree, and the fast path takes the plain ones.
func TestListDecode(t *testing.T) {
	for _, s := range []string{
		`[]`, `[""]`, `["a"]`, `["PATH=/bin:/usr/bin","HOME=/root",""]`, `["x=1,2","y=\"q\""]`,
		`["a\\b"]`, `["\u00e9t\u00e9"]`, `[ "a" ]`, `["a",]`, `["a"`, `"a"]`, `[1]`, `["a""b"]`,
		`["a" ,"b"]`, `null`, ``, `["é=ü", "b"]`, `["<&>"]`, `["\u003c"]`, `["a"]x`,
	} {
		var want []string
		werr := json.Unmarshal([]byte(s), &want)
		var got []string
		gerr := list{&got}.Scan(s)
		if (werr == nil) != (gerr == nil) || (werr == nil && !slices.Equal(got, want)) {
			t.Errorf("%s: decoded %q (%v), encoding/json %q (%v)", s, got, gerr, want, werr)
		}
	}
	env := []string{"PATH=/usr/bin", "A=b=c", "E=", "Q=it's", "U=été"}
	if l, ok := plainList(jsonList(env)); !ok || !slices.Equal(l, env) {
		t.Errorf("fast path of %q: %q, %v", jsonList(env), l, ok)
	}
}
