package stack

import (
	"bgrun/run"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"bgrun/store"
)

// maxImportFile bounds what import reads of a Procfile or ecosystem file.
const maxImportFile = 4 << 20

// Import is `bgrun import FILE`: it converts a Procfile (with the .env
// beside it, as foreman reads it) or a PM2 ecosystem file (JSON, or
// JavaScript read through node) into a stack file written to stdout. What
// has no bgrun equivalent is listed on stderr, one line each.
func Import(ctx context.Context, path string, stdout, stderr io.Writer) error {
	kind := importKind(path)
	var (
		procs []importedProc
		notes []string
		err   error
	)
	switch kind {
	case "procfile":
		procs, notes, err = importProcfile(path)
	case "pm2-js":
		var data []byte
		if data, err = readEcosystemJS(ctx, path); err == nil {
			procs, notes, err = importPM2(path, data)
		}
	default:
		var data []byte
		if data, err = readLimited(path); err == nil {
			procs, notes, err = importPM2(path, data)
		}
	}
	if err != nil {
		return err
	}
	if len(procs) == 0 {
		return fmt.Errorf("%s defines no processes", path)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Made by `bgrun import %s`; save it beside that file as %s and run `bgrun up`.\n", filepath.Base(path), file)
	b.WriteString("# name = \"myapp\"  # the group of every process below; the folder's name when not set\n")
	for _, p := range procs {
		b.WriteString("\n[process." + quoteKey(p.name) + "]\n")
		b.WriteString("command = " + tomlQuote(p.command) + "\n")
		if p.dir != "" {
			b.WriteString("directory = " + tomlQuote(p.dir) + "\n")
		}
		if len(p.env) > 0 {
			parts := make([]string, len(p.env))
			for i, v := range p.env {
				parts[i] = quoteKey(v.Key) + " = " + tomlQuote(v.Value)
			}
			b.WriteString("env = { " + strings.Join(parts, ", ") + " }\n")
		}
		writeList(&b, "env_file", p.envFiles)
		for _, kv := range p.extra {
			b.WriteString(kv + "\n")
		}
	}
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "bgrun: import: %s\n", n)
	}
	return nil
}

// importedProc is one process on its way into the stack file.
type importedProc struct {
	name, command, dir string
	env                []run.EnvVar
	envFiles           []string
	extra              []string // further "key = value" lines, already TOML
}

func writeList(b *strings.Builder, key string, l []string) {
	if len(l) == 0 {
		return
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = tomlQuote(s)
	}
	b.WriteString(key + " = [" + strings.Join(q, ", ") + "]\n")
}

// importKind tells the file's format from its name, then its first byte.
func importKind(path string) string {
	base := strings.ToLower(filepath.Base(path))
	switch ext := filepath.Ext(base); {
	case base == "procfile" || strings.HasPrefix(base, "procfile.") || ext == ".procfile":
		return "procfile"
	case ext == ".js" || ext == ".cjs" || ext == ".mjs":
		return "pm2-js"
	case ext == ".json" || ext == ".json5":
		return "pm2-json"
	}
	data, err := readLimited(path)
	if err == nil {
		if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			return "pm2-json"
		}
	}
	return "procfile"
}

// readLimited reads a small regular file.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist", path)
		}
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxImportFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxImportFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxImportFile)
	}
	return data, nil
}

var procfileLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)\s*:\s*(.*\S)\s*$`) })

// importProcfile reads NAME: COMMAND lines, as foreman and overmind do. The
// .env beside the Procfile becomes every process's env_file.
func importProcfile(path string) ([]importedProc, []string, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, nil, err
	}
	var envFiles []string
	if fi, err := os.Stat(filepath.Join(filepath.Dir(path), ".env")); err == nil && fi.Mode().IsRegular() {
		envFiles = []string{".env"}
	}
	var procs []importedProc
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxImportFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := procfileLine().FindStringSubmatch(line)
		if m == nil {
			return nil, nil, fmt.Errorf("%s:%d: want NAME: COMMAND, got %q", path, n, line)
		}
		if err := store.ValidateName(m[1]); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if seen[m[1]] {
			return nil, nil, fmt.Errorf("%s:%d: process %s is defined twice", path, n, m[1])
		}
		seen[m[1]] = true
		procs = append(procs, importedProc{name: m[1], command: m[2], envFiles: envFiles})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	var notes []string
	if len(procs) > 0 {
		notes = append(notes, "foreman gives each process a PORT (5000, 5100, ...); bgrun does not: set env = { PORT = \"...\" } where a process needs one")
	}
	return procs, notes, nil
}

// readEcosystemJS evaluates a JavaScript ecosystem file with node and
// returns what it exports, as JSON.
func readEcosystemJS(ctx context.Context, path string) ([]byte, error) {
	if _, err := readLimited(path); err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("reading %s needs node, which is not installed; install node, or write the file as JSON (ecosystem.config.json)", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	const script = `const f = require('path').resolve(process.argv[1]);
(async () => {
  let m;
  try { m = require(f); } catch (e) {
    if (e.code !== 'ERR_REQUIRE_ESM') throw e;
    m = await import(require('url').pathToFileURL(f).href);
  }
  if (m && m.default && !m.apps) m = m.default;
  process.stdout.write(JSON.stringify(m === undefined ? null : m));
})().catch((e) => { process.stderr.write(String(e && e.message || e) + '\n'); process.exit(1); });`
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", script, abs)
	cmd.Dir = filepath.Dir(abs)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("node could not read %s: %s", path, firstLine(msg))
	}
	if out.Len() > maxImportFile {
		return nil, fmt.Errorf("%s exports more than %d bytes", path, maxImportFile)
	}
	return out.Bytes(), nil
}

// pm2Interpreters is PM2's choice of interpreter by the script's extension.
var pm2Interpreters = map[string]string{
	".js": "node", ".cjs": "node", ".mjs": "node", ".py": "python", ".rb": "ruby", ".php": "php",
	".pl": "perl", ".sh": "bash", ".coffee": "coffee", ".ts": "node",
}

// pm2Unsupported names PM2 settings with no bgrun equivalent, and why.
var pm2Unsupported = map[string]string{
	"cron_restart":              "cron restarts are not supported; use cron or a systemd timer with `bgrun --restart NAME`",
	"restart_delay":             "bgrun's guard restarts with its own backoff",
	"exp_backoff_restart_delay": "bgrun's guard restarts with its own backoff",
	"min_uptime":                "bgrun's guard restarts with its own backoff",
	"wait_ready":                "process.send('ready') is not read; use ready = \"tcp:PORT\" once supported",
	"listen_timeout":            "use ready_timeout once readiness checks are supported",
	"log_file":                  "combined log files are not supported; see stdout and stderr",
	"merge_logs":                "bgrun keeps one log per process",
	"combine_logs":              "bgrun keeps one log per process",
	"log_date_format":           "log lines are not timestamped",
	"time":                      "log lines are not timestamped",
	"pid_file":                  "bgrun keeps pids in its store",
	"source_map_support":        "a node option; add it to the command if needed",
	"instance_var":              "there is one instance",
	"increment_var":             "there is one instance",
	"vizion":                    "no version metadata is kept",
	"post_update":               "no deploy hooks",
	"force":                     "a name runs once; `bgrun --force` replaces it",
	"namespace":                 "the stack's name is the group",
	"treekill":                  "bgrun always stops the whole tree",
	"shutdown_with_message":     "processes are stopped with SIGTERM, then SIGKILL",
	"kill_retry_time":           "processes are stopped with SIGTERM, then SIGKILL",
	"stop_exit_codes":           "the guard restarts on every crash",
	"filter_env":                "the caller's environment is always passed on",
	"append_env_to_name":        "names are kept as written",
	"autostart":                 "every process of the file starts with `bgrun up`",
	"disable_trace":             "no tracing",
	"automation":                "no pm2.io monitoring",
	"pmx":                       "no pm2.io monitoring",
	"uid":                       "processes run as the user who runs bgrun",
	"gid":                       "processes run as the user who runs bgrun",
	"container":                 "run the container with a docker run command",
	"docker":                    "run the container with a docker run command",
}

var unsafeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9._-]+`) })

// importPM2 converts the JSON form of a PM2 ecosystem file: an object with
// an apps array, or the array itself.
func importPM2(path string, data []byte) ([]importedProc, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return nil, nil, fmt.Errorf("%s is not a PM2 ecosystem file (JSON): %v", path, err)
	}
	var apps []any
	var notes []string
	switch t := top.(type) {
	case map[string]any:
		if a, ok := t["apps"].([]any); ok {
			apps = a
			for k := range t {
				if k != "apps" {
					notes = append(notes, fmt.Sprintf("%s: not carried over (only apps are)", k))
				}
			}
		} else if _, one := t["script"]; one {
			apps = []any{t}
		} else {
			return nil, nil, fmt.Errorf("%s has no apps array", path)
		}
	case []any:
		apps = t
	default:
		return nil, nil, fmt.Errorf("%s: want an object with an apps array", path)
	}
	sort.Strings(notes)
	var procs []importedProc
	seen := map[string]bool{}
	for i, a := range apps {
		app, ok := a.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("%s: app %d is not an object", path, i+1)
		}
		p, n, err := pm2App(app, i)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", path, err)
		}
		if seen[p.name] {
			return nil, nil, fmt.Errorf("%s: two apps are named %s", path, p.name)
		}
		seen[p.name] = true
		procs = append(procs, p)
		notes = append(notes, n...)
	}
	return procs, notes, nil
}

// pm2App converts one app.
func pm2App(app map[string]any, i int) (importedProc, []string, error) {
	var p importedProc
	var notes []string
	str := func(k string) string {
		switch v := app[k].(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		}
		return ""
	}
	// args is a string, or a list of arguments each quoted as needed.
	args := func(k string) string {
		switch v := app[k].(type) {
		case string:
			return v
		case []any:
			var l []string
			for _, e := range v {
				l = append(l, fmt.Sprint(e))
			}
			return run.JoinArgs(l)
		}
		return ""
	}
	script := str("script")
	if script == "" {
		script = str("cmd")
	}
	if script == "" {
		return p, nil, fmt.Errorf("app %d has no script", i+1)
	}
	name := str("name")
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(script), filepath.Ext(script))
	}
	p.name = name
	if store.ValidateName(name) != nil {
		p.name = strings.Trim(unsafeName().ReplaceAllString(name, "-"), "-._")
		if len(p.name) > store.MaxNameLen {
			p.name = p.name[:store.MaxNameLen]
		}
		if store.ValidateName(p.name) != nil {
			return p, nil, fmt.Errorf("app %d: name %q cannot name a process", i+1, name)
		}
		notes = append(notes, fmt.Sprintf("%s: renamed to %s (bgrun names use letters, digits, '.', '_' and '-')", name, p.name))
	}
	say := func(format string, a ...any) {
		notes = append(notes, p.name+": "+fmt.Sprintf(format, a...))
	}

	interp := str("interpreter")
	if interp == "" {
		interp = str("exec_interpreter")
	}
	if interp == "" {
		interp = pm2Interpreters[strings.ToLower(filepath.Ext(script))]
		if filepath.Ext(script) == ".ts" {
			say("ran %s with pm2's TypeScript support; the command uses node (22.6 or later strips types)", script)
		}
	}
	if interp == "none" {
		interp = ""
	}
	var parts []string
	if interp != "" {
		parts = append(parts, interp)
		for _, k := range []string{"interpreter_args", "node_args"} {
			if a := args(k); a != "" {
				parts = append(parts, a)
			}
		}
	}
	parts = append(parts, script)
	if a := args("args"); a != "" {
		parts = append(parts, a)
	}
	p.command = strings.Join(parts, " ")

	var extra []string
	keys := make([]string, 0, len(app))
	for k := range app {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	guard := true // pm2 restarts a crashed app unless autorestart is false
	for _, k := range keys {
		v := app[k]
		switch k {
		case "name", "script", "cmd", "args", "interpreter", "exec_interpreter", "interpreter_args", "node_args":
		case "cwd":
			p.dir = str(k)
		case "env":
			env, ok := v.(map[string]any)
			if !ok {
				say("env is not an object; not carried over")
				continue
			}
			for ek, ev := range env {
				p.env = append(p.env, run.EnvVar{Key: ek, Value: jsonScalar(ev)})
			}
			slices.SortFunc(p.env, func(a, b run.EnvVar) int { return strings.Compare(a.Key, b.Key) })
		case "autorestart":
			if b, ok := v.(bool); ok && !b {
				guard = false
			}
		case "watch":
			switch w := v.(type) {
			case bool:
				if w {
					extra = append(extra, "watch = true")
				}
			case []any, string:
				extra = append(extra, "watch = true")
				say("watch lists paths; bgrun watches the whole directory (narrow it with ignore or .bgrunignore)")
			}
		case "ignore_watch":
			var l []string
			switch w := v.(type) {
			case string:
				l = []string{w}
			case []any:
				for _, e := range w {
					if s, ok := e.(string); ok {
						l = append(l, s)
					}
				}
			}
			if len(l) > 0 {
				var b strings.Builder
				writeList(&b, "ignore", l)
				extra = append(extra, strings.TrimSuffix(b.String(), "\n"))
			}
		case "max_restarts":
			if n, err := v.(json.Number).Int64(); err == nil && n > 0 {
				extra = append(extra, fmt.Sprintf("max_restarts = %d", n))
			}
		case "max_memory_restart":
			extra = append(extra, "max_memory = "+tomlQuote(jsonScalar(v)))
		case "out_file", "output":
			extra = append(extra, "stdout = "+tomlQuote(str(k)))
		case "error_file", "error":
			extra = append(extra, "stderr = "+tomlQuote(str(k)))
		case "kill_timeout":
			if n, ok := v.(json.Number); ok {
				extra = append(extra, "stop_timeout = "+tomlQuote(n.String()+"ms"))
			}
		case "instances":
			if n := jsonScalar(v); n != "1" && n != "0" {
				say("instances = %s: bgrun runs one instance", n)
			}
		case "exec_mode":
			if m := str(k); strings.Contains(m, "cluster") {
				say("cluster mode is not supported: bgrun runs one process (fork mode)")
			}
		default:
			if strings.HasPrefix(k, "env_") {
				say("%s (pm2 start --env %s) not carried over; copy what you need into env", k, strings.TrimPrefix(k, "env_"))
			} else if why, ok := pm2Unsupported[k]; ok {
				say("%s not carried over: %s", k, why)
			} else {
				say("%s not carried over: bgrun has no such setting", k)
			}
		}
	}
	if guard {
		extra = append([]string{"guard = true"}, extra...)
	}
	p.extra = extra
	return p, notes, nil
}

// jsonScalar formats a JSON value as an environment value.
func jsonScalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
