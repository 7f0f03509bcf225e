package store

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// column is one column of the process table and the Record field it holds.
// field returns what a scan reads the column into and what a write stores:
// a pointer to the field when SQLite keeps the Go value as it is, else a
// codec (ticks, stamp, list, millis) that is both an sql.Scanner and a
// driver.Valuer.
type column struct {
	name  string
	write writeMode
	field func(r *Record) any
}

// writeMode says when the upsert writes a column.
type writeMode int

const (
	always   writeMode = iota // on insert and on every update
	onInsert                  // once: an update keeps what the insert wrote
	never                     // SQLite assigns it
)

// columns is the process table as Record sees it. The SELECT list, the scan
// and the upsert are made from it, so adding a column takes one entry here
// and its migration (migrate.go); TestColumnsMatchSchema holds the two
// together.
var columns = []column{
	{"id", never, func(r *Record) any { return &r.ID }},
	{"name", onInsert, func(r *Record) any { return &r.Name }},
	{"pid", always, func(r *Record) any { return &r.PID }},
	{"pgid", always, func(r *Record) any { return &r.PGID }},
	{"start_ticks", always, func(r *Record) any { return ticks{&r.StartTicks} }},
	{"command", always, func(r *Record) any { return &r.Command }},
	{"workdir", always, func(r *Record) any { return &r.Dir }},
	{"env", always, func(r *Record) any { return list{&r.Env} }},
	{"set_env", always, func(r *Record) any { return list{&r.Set} }},
	{"config_path", always, func(r *Record) any { return &r.ConfigPath }},
	{"no_config", always, func(r *Record) any { return &r.NoConfig }},
	{"env_files", always, func(r *Record) any { return list{&r.EnvFiles} }},
	{"grp", always, func(r *Record) any { return &r.Group }},
	{"parent", always, func(r *Record) any { return &r.Parent }},
	{"stdout_path", always, func(r *Record) any { return &r.StdoutPath }},
	{"stderr_path", always, func(r *Record) any { return &r.StderrPath }},
	{"status", always, func(r *Record) any { return &r.Status }},
	{"started_at", always, func(r *Record) any { return stamp{&r.StartedAt} }},
	{"exit_code", always, func(r *Record) any { return &r.ExitCode }},
	{"exit_signal", always, func(r *Record) any { return &r.ExitSignal }},
	{"exited_at", always, func(r *Record) any { return stamp{&r.ExitedAt} }},
	{"guard", always, func(r *Record) any { return &r.Guard }},
	{"watch", always, func(r *Record) any { return &r.Watch }},
	{"watch_ignore", always, func(r *Record) any { return list{&r.WatchIgnore} }},
	{"supervisor_pid", always, func(r *Record) any { return &r.SupervisorPID }},
	{"supervisor_ticks", always, func(r *Record) any { return ticks{&r.SupervisorTicks} }},
	{"restarts", always, func(r *Record) any { return &r.Restarts }},
	{"max_restarts", always, func(r *Record) any { return &r.MaxRestarts }},
	{"backoff", always, func(r *Record) any { return duration{&r.Backoff} }},
	{"gave_up", always, func(r *Record) any { return &r.GaveUp }},
	{"wanted", always, func(r *Record) any { return &r.Wanted }},
	{"stdout_owned", always, func(r *Record) any { return &r.StdoutOwned }},
	{"stderr_owned", always, func(r *Record) any { return &r.StderrOwned }},
	{"instance", always, func(r *Record) any { return &r.Instance }},
	{"leader", always, func(r *Record) any { return &r.Leader }},
	{"stderr_offset", always, func(r *Record) any { return &r.StderrOffset }},
	{"log_max_size", always, func(r *Record) any { return &r.LogMaxSize }},
	{"log_keep", always, func(r *Record) any { return &r.LogKeep }},
	{"ready", always, func(r *Record) any { return &r.Ready }},
	{"ready_timeout_ms", always, func(r *Record) any { return millis{&r.ReadyTimeout} }},
	{"health_interval_ms", always, func(r *Record) any { return millis{&r.HealthInterval} }},
	{"max_memory", always, func(r *Record) any { return &r.MaxMemory }},
	{"startup_window_ms", always, func(r *Record) any { return millis{&r.StartWindow} }},
	{"crashes", always, func(r *Record) any { return &r.Crashes }},
	{"ever_ran", always, func(r *Record) any { return &r.EverRan }},
	{"fail_reason", always, func(r *Record) any { return &r.FailReason }},
	{"stop_timeout_ms", always, func(r *Record) any { return millis{&r.StopTimeout} }},
	{"kill_by", always, func(r *Record) any { return stamp{&r.KillBy} }},
	{"created_at", onInsert, func(r *Record) any { return stamp{&r.CreatedAt} }},
	{"updated_at", always, func(r *Record) any { return stamp{&r.UpdatedAt} }},
}

// selectSQL reads every column, in the order of columns; upsertSQL writes
// a record by name and returns its id, which an update never changes. The
// upsert names the id of an existing row itself: left to AUTOINCREMENT, an
// insert that turns into an update would still use up an id, and the next
// new name would get a gap.
var selectSQL, upsertSQL = statements()

func statements() (sel, ups string) {
	var all, ins, set []string
	for _, c := range columns {
		all = append(all, c.name)
		if c.write != never {
			ins = append(ins, c.name)
		}
		if c.write == always {
			set = append(set, c.name+" = excluded."+c.name)
		}
	}
	sel = "SELECT " + strings.Join(all, ", ") + " FROM process"
	ups = "INSERT INTO process (id, " + strings.Join(ins, ", ") + ") VALUES ((SELECT id FROM process WHERE name = ?)" +
		strings.Repeat(", ?", len(ins)) + ") ON CONFLICT(name) DO UPDATE SET " + strings.Join(set, ", ") + " RETURNING id"
	return sel, ups
}

// upsert writes r by its name with ups, the prepared upsertSQL, inserting it
// or updating the row of that name (its id and creation time stay), and
// sets r.ID.
func upsert(ups *sql.Stmt, r *Record) error {
	args := []any{r.Name}
	for _, c := range columns {
		if c.write != never {
			args = append(args, c.field(r))
		}
	}
	return ups.QueryRow(args...).Scan(&r.ID)
}

// ticks stores a kernel start time in an INTEGER column, which holds int64.
type ticks struct{ p *uint64 }

func (c ticks) Scan(v any) error {
	n, err := asInt(v)
	*c.p = uint64(n)
	return err
}

func (c ticks) Value() (driver.Value, error) { return int64(*c.p), nil }

// millis stores a duration as whole milliseconds.
type millis struct{ p *time.Duration }

func (c millis) Scan(v any) error {
	n, err := asInt(v)
	*c.p = time.Duration(n) * time.Millisecond
	return err
}

func (c millis) Value() (driver.Value, error) { return c.p.Milliseconds(), nil }

// duration stores a duration as Go writes it ("1.6s"), "" for none: the
// column was text when the supervisor kept the string.
type duration struct{ p *time.Duration }

func (c duration) Scan(v any) error {
	s, err := asText(v)
	*c.p, _ = time.ParseDuration(s)
	return err
}

func (c duration) Value() (driver.Value, error) {
	if *c.p == 0 {
		return "", nil
	}
	return c.p.String(), nil
}

// stamp stores a time as RFC 3339 text in UTC, "" for the zero time.
type stamp struct{ p *time.Time }

func (c stamp) Scan(v any) error {
	s, err := asText(v)
	*c.p = parseTime(s)
	return err
}

func (c stamp) Value() (driver.Value, error) { return formatTime(*c.p), nil }

// list stores a list of strings as a JSON array, so that any value, commas
// and '=' included, survives.
type list struct{ p *[]string }

func (c list) Scan(v any) error {
	s, err := asText(v)
	if err != nil {
		return err
	}
	if l, ok := plainList(s); ok {
		*c.p = l
		return nil
	}
	if err := json.Unmarshal([]byte(s), c.p); err != nil {
		return fmt.Errorf("bad list: %w", err)
	}
	return nil
}

// plainList decodes a JSON array of strings none of which holds an escape,
// which is how nearly every stored list looks (an environment is one), at a
// fraction of encoding/json's cost; ok is false for anything else, which
// json.Unmarshal then reads.
func plainList(s string) (l []string, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return []string{}, true
	}
	if strings.IndexByte(body, '\\') >= 0 {
		return nil, false
	}
	l = make([]string, 0, strings.Count(body, `","`)+1)
	for {
		if len(body) < 2 || body[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(body[1:], '"') + 1
		if end == 0 {
			return nil, false
		}
		l = append(l, body[1:end])
		body = body[end+1:]
		if body == "" {
			return l, true
		}
		if body[0] != ',' {
			return nil, false
		}
		body = body[1:]
	}
}

func (c list) Value() (driver.Value, error) { return jsonList(*c.p), nil }

func asInt(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("want an integer, found %T", v)
}

func asText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("want text, found %T", v)
}
