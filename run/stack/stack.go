package stack

import (
	"bgrun/run"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"bgrun/store"
)

// file is the file `bgrun up` and `bgrun down` read when none is named.
const file = "bgrun.toml"

// Stack is a parsed bgrun.toml: named processes that start together, each
// after the processes it depends on.
type Stack struct {
	// Name is the group of every process of the stack (BGR_GROUP); the
	// file's folder name when the file gives none.
	Name string
	// Path is the file as the user named it, for messages; Dir is its
	// absolute folder, which relative directories are resolved against.
	Path string
	Dir  string
	// Abs is the file's absolute path: what names the stack for locks and
	// for the records it creates.
	Abs string
	// Procs holds the processes in the order the file lists them.
	Procs []Process
	// Warnings are keys the file sets that this bgrun accepts but does not
	// act on yet, one line each, naming file, line and key.
	Warnings []string
}

// Process is one [process.NAME] table.
type Process struct {
	Name        string
	Line        int    // line of the table's first key, for messages
	Command     string // required
	Dir         string // absolute; the file's folder by default
	Env         []run.EnvVar
	EnvFiles    []string // relative to Dir, or absolute
	Config      string   // relative to Dir, or absolute; "" loads .config.toml when present
	Stdout      string   // absolute; "" for bgrun's default
	Stderr      string
	Guard       bool
	Watch       bool
	Ignore      []string
	MaxRestarts int
	DependsOn   []string
	// StopTimeout is how long a stop waits after SIGTERM; 0 for the default.
	StopTimeout time.Duration
	// Ready and ReadyTimeout are the readiness check that a start (and so
	// each process depending on this one) waits for; MaxMemory and
	// LogMaxSize are sizes such as "512M" (see run.ParseSize).
	Ready        string
	ReadyTimeout time.Duration
	MaxMemory    string
	LogMaxSize   string
}

// Error is a mistake in a stack file, located at its line and key.
type Error struct {
	Path string
	Line int    // 0 when the file as a whole is wrong
	Key  string // dotted key, "" when none
	Msg  string
}

func (e *Error) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// processKeys lists every key a [process.NAME] table may hold.
var processKeys = []string{"command", "directory", "env", "env_file", "config", "stdout", "stderr",
	"guard", "watch", "ignore", "max_restarts", "ready", "ready_timeout", "max_memory", "log_max_size",
	"stop_timeout", "depends_on"}

// maxStackFile bounds what is read of a stack file: a real one is a few
// kilobytes.
const maxStackFile = 1 << 20

// load reads and checks the stack file at path. Every mistake, an
// unknown key, a value of the wrong type, a dependency on a process the
// file does not define or a cycle, is a *Error naming the line and key.
func load(path string) (*Stack, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		abs, _ := filepath.Abs(path)
		return nil, fmt.Errorf("no stack file %s", abs)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStackFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxStackFile {
		return nil, fmt.Errorf("%s is larger than %d bytes; is it a stack file?", path, maxStackFile)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := Parse(path, filepath.Dir(abs), data)
	if err != nil {
		return nil, err
	}
	st.Abs = abs
	return st, nil
}

// parseStack parses a stack file's content; path names it in messages and
// dir (absolute) is the folder relative paths start from.
func Parse(path, dir string, data []byte) (*Stack, error) {
	var doc map[string]any
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{Path: path, Line: pe.Position.Line, Msg: pe.Message}
		}
		return nil, &Error{Path: path, Msg: err.Error()}
	}
	lines := keyLines(string(data))
	p := stackParser{path: path, lines: lines}
	st := &Stack{Path: path, Dir: dir, Name: filepath.Base(dir)}

	// Top-level keys in the order the file writes them, so the first
	// mistake reported is the first one in the file.
	for _, k := range topKeys(md) {
		switch k {
		case "name":
			s, err := p.str(doc[k], k)
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(s) == "" || strings.ContainsAny(s, "=\x00\n\r") {
				return nil, p.errf(k, "want a non-empty name without '=' or line breaks, got %q", s)
			}
			st.Name = s
		case "process":
			if _, ok := doc[k].(map[string]any); !ok {
				return nil, p.errf(k, "want a table of processes ([process.NAME]), got %s", tomlType(doc[k]))
			}
		default:
			return nil, p.errf(k, "unknown key (a stack file has name and [process.NAME] tables)")
		}
	}
	procs, _ := doc["process"].(map[string]any)
	if len(procs) == 0 {
		return nil, &Error{Path: path, Msg: "no processes: add a [process.NAME] table with a command"}
	}
	names := make([]string, 0, len(procs))
	for name := range procs {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		li, lj := p.line(lineKey("process."+quoteKey(names[i]))), p.line(lineKey("process."+quoteKey(names[j])))
		if li != lj {
			return li < lj
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		sp, err := p.process(st, name, procs[name])
		if err != nil {
			return nil, err
		}
		st.Procs = append(st.Procs, sp)
	}
	st.Warnings = p.warnings
	if err := st.checkDeps(p); err != nil {
		return nil, err
	}
	return st, nil
}

// topKeys returns the document's top-level keys in file order.
func topKeys(md toml.MetaData) []string {
	var out []string
	for _, k := range md.Keys() {
		if len(k) >= 1 && !slices.Contains(out, k[0]) {
			out = append(out, k[0])
		}
	}
	return out
}

type stackParser struct {
	path     string
	lines    map[string]int
	warnings []string
}

// line finds the line of a dotted key, or of its nearest parent the
// locator saw (keys inside inline tables are located at the table's key).
func (p *stackParser) line(key string) int {
	for k := key; k != ""; {
		if l, ok := p.lines[k]; ok {
			return l
		}
		i := strings.LastIndexByte(k, '\x00')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

// errf makes a Error at key, a dotted path spelled for users.
func (p *stackParser) errf(key, format string, a ...any) error {
	return &Error{Path: p.path, Line: p.line(lineKey(key)), Key: key, Msg: fmt.Sprintf(format, a...)}
}

// lineKey turns a key as printed (process.api.env) into the locator's key,
// whose parts are joined with NUL so quoted names with dots stay apart.
func lineKey(printed string) string {
	parts, _ := splitKey(printed)
	return strings.Join(parts, "\x00")
}

// quoteKey spells one key part for messages: bare when it can be.
func quoteKey(s string) string {
	if s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == "" {
		return s
	}
	return tomlQuote(s)
}

func (p *stackParser) process(st *Stack, name string, v any) (Process, error) {
	key := "process." + quoteKey(name)
	sp := Process{Name: name, Line: p.line(lineKey(key)), Dir: st.Dir}
	if err := store.ValidateName(name); err != nil {
		return sp, p.errf(key, "%v", err)
	}
	t, ok := v.(map[string]any)
	if !ok {
		return sp, p.errf(key, "want a table with a command, got %s", tomlType(v))
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		li, lj := p.line(lineKey(key+"."+quoteKey(keys[i]))), p.line(lineKey(key+"."+quoteKey(keys[j])))
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	// directory first: the other paths are relative to it.
	if d, ok := t["directory"]; ok {
		s, err := p.str(d, key+".directory")
		if err != nil {
			return sp, err
		}
		if s == "" {
			return sp, p.errf(key+".directory", "is empty")
		}
		if !filepath.IsAbs(s) {
			s = filepath.Join(st.Dir, s)
		}
		sp.Dir = filepath.Clean(s)
	}
	var err error
	for _, k := range keys {
		full := key + "." + quoteKey(k)
		val := t[k]
		switch k {
		case "directory":
		case "command":
			if sp.Command, err = p.str(val, full); err == nil && strings.TrimSpace(sp.Command) == "" {
				err = p.errf(full, "is empty")
			}
		case "env":
			sp.Env, err = p.env(val, full)
		case "env_file":
			sp.EnvFiles, err = p.strs(val, full)
		case "config":
			if sp.Config, err = p.str(val, full); err == nil && sp.Config == "" {
				err = p.errf(full, "is empty")
			}
		case "stdout", "stderr":
			var s string
			if s, err = p.str(val, full); err == nil {
				if s == "" {
					err = p.errf(full, "is empty")
					break
				}
				if !filepath.IsAbs(s) {
					s = filepath.Join(sp.Dir, s)
				}
				if k == "stdout" {
					sp.Stdout = filepath.Clean(s)
				} else {
					sp.Stderr = filepath.Clean(s)
				}
			}
		case "guard":
			sp.Guard, err = p.boolean(val, full)
		case "watch":
			sp.Watch, err = p.boolean(val, full)
		case "ignore":
			sp.Ignore, err = p.strs(val, full)
		case "max_restarts":
			var n int64
			if n, err = p.integer(val, full); err == nil {
				if n < 1 || n > 1<<31-1 {
					err = p.errf(full, "want a positive number, got %d", n)
				}
				sp.MaxRestarts = int(n)
			}
		case "depends_on":
			sp.DependsOn, err = p.strs(val, full)
		case "stop_timeout":
			sp.StopTimeout, err = p.duration(val, full)
		case "ready":
			if sp.Ready, err = p.str(val, full); err == nil {
				if _, perr := run.ParseReady(sp.Ready); perr != nil {
					err = p.errf(full, "%v", perr)
				}
			}
		case "ready_timeout":
			sp.ReadyTimeout, err = p.duration(val, full)
		case "max_memory":
			sp.MaxMemory, err = p.size(val, full)
		case "log_max_size":
			sp.LogMaxSize, err = p.size(val, full)
		default:
			err = p.errf(full, "unknown key (known: %s)", strings.Join(processKeys, ", "))
		}
		if err != nil {
			return sp, err
		}
	}
	if sp.Command == "" {
		return sp, p.errf(key, "has no command")
	}
	return sp, nil
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case time.Time:
		return "a date"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

func (p *stackParser) str(v any, key string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", p.errf(key, "want a string, got %s", tomlType(v))
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", p.errf(key, "holds a NUL byte")
	}
	return s, nil
}

func (p *stackParser) boolean(v any, key string) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, p.errf(key, "want true or false, got %s", tomlType(v))
	}
	return b, nil
}

func (p *stackParser) integer(v any, key string) (int64, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, p.errf(key, "want a whole number, got %s", tomlType(v))
	}
	return n, nil
}

// strs reads a string or an array of strings.
func (p *stackParser) strs(v any, key string) ([]string, error) {
	if s, ok := v.(string); ok {
		return p.strs([]any{s}, key)
	}
	l, ok := v.([]any)
	if !ok {
		return nil, p.errf(key, "want a string or an array of strings, got %s", tomlType(v))
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, p.errf(key, "want an array of strings, got an element that is %s", tomlType(e))
		}
		if s == "" || strings.IndexByte(s, 0) >= 0 {
			return nil, p.errf(key, "holds an empty string or a NUL byte")
		}
		out = append(out, s)
	}
	return out, nil
}

// duration reads "10s"-style text or a whole number of seconds.
func (p *stackParser) duration(v any, key string) (time.Duration, error) {
	switch v := v.(type) {
	case int64:
		if v < 0 || v > 1<<31 {
			return 0, p.errf(key, "want a duration such as \"10s\", got %d", v)
		}
		return time.Duration(v) * time.Second, nil
	case string:
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return 0, p.errf(key, "want a duration such as \"10s\", got %q", v)
		}
		return d, nil
	}
	return 0, p.errf(key, "want a duration such as \"10s\", got %s", tomlType(v))
}

// size reads "512M"-style text or a number of bytes; it is kept as text.
func (p *stackParser) size(v any, key string) (string, error) {
	switch v := v.(type) {
	case int64:
		if v <= 0 {
			return "", p.errf(key, "want a size such as \"512M\", got %d", v)
		}
		return strconv.FormatInt(v, 10), nil
	case string:
		if _, err := run.ParseSize(v); err != nil {
			return "", p.errf(key, "want a size such as \"512M\", got %q", v)
		}
		return v, nil
	}
	return "", p.errf(key, "want a size such as \"512M\", got %s", tomlType(v))
}

// env reads an inline or nested table of variables with scalar values.
func (p *stackParser) env(v any, key string) ([]run.EnvVar, error) {
	t, ok := v.(map[string]any)
	if !ok {
		return nil, p.errf(key, "want a table such as { PORT = \"3000\" }, got %s", tomlType(v))
	}
	out := make([]run.EnvVar, 0, len(t))
	for k, val := range t {
		full := key + "." + quoteKey(k)
		if _, isTable := val.(map[string]any); isTable {
			return nil, p.errf(full, "want a string, number or boolean, got a table")
		}
		if _, isList := val.([]any); isList {
			return nil, p.errf(full, "want a string, number or boolean, got an array")
		}
		s, err := run.EnvValue(val)
		if err != nil {
			return nil, p.errf(full, "%v", err)
		}
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(s, 0) >= 0 {
			return nil, p.errf(full, "cannot be an environment variable (empty name, '=' or NUL)")
		}
		out = append(out, run.EnvVar{Key: k, Value: s})
	}
	slices.SortFunc(out, func(a, b run.EnvVar) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// checkDeps refuses a dependency on an undefined process, on itself, and a
// cycle, at the line of the depends_on that makes it.
func (st *Stack) checkDeps(p stackParser) error {
	idx := st.index()
	depKey := func(name string) string { return "process." + quoteKey(name) + ".depends_on" }
	for _, sp := range st.Procs {
		for _, d := range sp.DependsOn {
			if _, ok := idx[d]; !ok {
				return p.errf(depKey(sp.Name), "depends on %q, which is not a process of this file", d)
			}
			if d == sp.Name {
				return p.errf(depKey(sp.Name), "%s depends on itself", sp.Name)
			}
		}
	}
	// Depth-first search; a process met again while on the path closes a
	// cycle, reported from where it starts.
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(n string) error
	visit = func(n string) error {
		state[n] = onPath
		path = append(path, n)
		for _, d := range st.Procs[idx[n]].DependsOn {
			switch state[d] {
			case onPath:
				i := slices.Index(path, d)
				cycle := append(slices.Clone(path[i:]), d)
				return p.errf(depKey(path[i]), "dependency cycle: %s", strings.Join(cycle, " -> "))
			case unseen:
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	for _, sp := range st.Procs {
		if state[sp.Name] == unseen {
			if err := visit(sp.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (st *Stack) index() map[string]int {
	idx := make(map[string]int, len(st.Procs))
	for i, sp := range st.Procs {
		idx[sp.Name] = i
	}
	return idx
}

// Select returns the named processes with what they depend on (for up), or
// with what depends on them (for down, dependents true), in file order; no
// names selects all.
func (st *Stack) Select(names []string, dependents bool) ([]Process, error) {
	if len(names) == 0 {
		return st.Procs, nil
	}
	idx := st.index()
	next := map[string][]string{}
	for _, sp := range st.Procs {
		if dependents {
			for _, d := range sp.DependsOn {
				next[d] = append(next[d], sp.Name)
			}
		} else {
			next[sp.Name] = sp.DependsOn
		}
	}
	want := map[string]bool{}
	var add func(n string)
	add = func(n string) {
		if want[n] {
			return
		}
		want[n] = true
		for _, m := range next[n] {
			add(m)
		}
	}
	for _, n := range names {
		if _, ok := idx[n]; !ok {
			return nil, fmt.Errorf("%s defines no process %q", st.Path, n)
		}
		add(n)
	}
	var out []Process
	for _, sp := range st.Procs {
		if want[sp.Name] {
			out = append(out, sp)
		}
	}
	return out, nil
}
