package stack

import (
	"bgrun/run"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bgrun/docker"
	"bgrun/store"
)

func parse(t *testing.T, src string) (*Stack, error) {
	t.Helper()
	return Parse("s.toml", "/srv/shop", []byte(src))
}

func TestParseStackEveryKey(t *testing.T) {
	st, err := parse(t, `
name = "shop"

[process.db]
command = "docker run --rm --name shop-db postgres:16"
ready = "tcp:5432"
ready_timeout = "30s"
stop_timeout = 20

[process.api]
command = "node server.js"
directory = "api"
env = { PORT = "3000", DEBUG = true, RATE = 1.5 }
env_file = [".env", "/etc/api.env"]
config = "api.toml"
stdout = "logs/out.txt"
stderr = "/var/log/api-err.txt"
depends_on = ["db"]
guard = true
max_restarts = 5
max_memory = "512M"
log_max_size = 1048576

[process.web]
command = "bun run dev"
watch = true
ignore = "dist/**"
depends_on = ["api"]
`)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "shop" || len(st.Procs) != 3 {
		t.Fatalf("name %q, %d processes", st.Name, len(st.Procs))
	}
	if got := names(st.Procs); !slices.Equal(got, []string{"db", "api", "web"}) {
		t.Errorf("order %v, want the file's", got)
	}
	db, api, web := st.Procs[0], st.Procs[1], st.Procs[2]
	if db.Dir != "/srv/shop" || db.StopTimeout != 20*time.Second || db.Ready != "tcp:5432" || db.ReadyTimeout != 30*time.Second {
		t.Errorf("db = %+v", db)
	}
	want := Process{Name: "api", Line: 10, Command: "node server.js", Dir: "/srv/shop/api",
		Env:      []run.EnvVar{{Key: "DEBUG", Value: "true"}, {Key: "PORT", Value: "3000"}, {Key: "RATE", Value: "1.5"}},
		EnvFiles: []string{".env", "/etc/api.env"}, Config: "api.toml",
		Stdout: "/srv/shop/api/logs/out.txt", Stderr: "/var/log/api-err.txt",
		DependsOn: []string{"db"}, Guard: true, MaxRestarts: 5, MaxMemory: "512M", LogMaxSize: "1048576"}
	if !equalProc(api, want) {
		t.Errorf("api =\n%+v\nwant\n%+v", api, want)
	}
	if !web.Watch || !slices.Equal(web.Ignore, []string{"dist/**"}) || web.Dir != "/srv/shop" {
		t.Errorf("web = %+v", web)
	}
	if len(st.Warnings) > 0 {
		t.Errorf("warnings:\n%s", strings.Join(st.Warnings, "\n"))
	}
}

func equalProc(a, b Process) bool {
	return a.Name == b.Name && a.Line == b.Line && a.Command == b.Command && a.Dir == b.Dir &&
		slices.Equal(a.Env, b.Env) && slices.Equal(a.EnvFiles, b.EnvFiles) && a.Config == b.Config &&
		a.Stdout == b.Stdout && a.Stderr == b.Stderr && slices.Equal(a.DependsOn, b.DependsOn) &&
		a.Guard == b.Guard && a.Watch == b.Watch && a.MaxRestarts == b.MaxRestarts &&
		a.MaxMemory == b.MaxMemory && a.LogMaxSize == b.LogMaxSize
}

func TestParseStackDefaultName(t *testing.T) {
	st, err := parse(t, "[process.a]\ncommand = \"x\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "shop" {
		t.Errorf("name %q, want the folder's name", st.Name)
	}
}

func TestParseStackErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"[process.a]\ncommand = \"x\"\ncolour = 1\n", "s.toml:3: process.a.colour: unknown key (known: "},
		{"nam = \"x\"\n", "s.toml:1: nam: unknown key"},
		{"name = \"x\"\n", "s.toml: no processes"},
		{"[process.a]\ncommand = 1\n", "s.toml:2: process.a.command: want a string, got an integer"},
		{"[process.a]\ncommand = \"x\"\nguard = \"yes\"\n", "s.toml:3: process.a.guard: want true or false, got a string"},
		{"[process.a]\ncommand = \"x\"\nmax_restarts = 0\n", "s.toml:3: process.a.max_restarts: want a positive number, got 0"},
		{"[process.a]\ncommand = \"x\"\nstop_timeout = \"soon\"\n", "s.toml:3: process.a.stop_timeout: want a duration"},
		{"[process.a]\ncommand = \"x\"\nenv = { A = [1] }\n", "s.toml:3: process.a.env.A: want a string, number or boolean, got an array"},
		{"[process.a]\ncommand = \"x\"\nenv = \"A=1\"\n", "s.toml:3: process.a.env: want a table"},
		{"[process.a]\ncommand = \"x\"\ndepends_on = [1]\n", "s.toml:3: process.a.depends_on: want an array of strings"},
		{"[process.a]\ndirectory = \"x\"\n", "s.toml:1: process.a: has no command"},
		{"[process.a]\ncommand = \"  \"\n", "s.toml:2: process.a.command: is empty"},
		{"[process.\"a b\"]\ncommand = \"x\"\n", "s.toml:1: process.\"a b\": invalid process name"},
		{"process = 1\n", "s.toml:1: process: want a table of processes"},
		{"[process.a]\ncommand = \"x\"\n\n[process.b]\ncommand = \"y\"\ndepends_on = [\n  \"a\",\n  \"c\",\n]\n",
			"s.toml:6: process.b.depends_on: depends on \"c\", which is not a process of this file"},
		{"[process.a]\ncommand = \"x\"\ndepends_on = [\"a\"]\n", "s.toml:3: process.a.depends_on: a depends on itself"},
		{"[process.a]\ncommand = \"x\"\ndepends_on = [\"b\"]\n[process.b]\ncommand = \"y\"\ndepends_on = [\"a\"]\n",
			"s.toml:3: process.a.depends_on: dependency cycle: a -> b -> a"},
		{"[process.a]\ncommand = \"x\"\ncommand = \"y\"\n", "s.toml:3: "},
	} {
		_, err := parse(t, tc.src)
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want a Error", tc.src, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %s\nwant %s...", tc.src, err, tc.want)
		}
	}
}

func TestKeyLines(t *testing.T) {
	src := `# comment = 1
name = "x" # name = "y"
[process.api]
command = """
fake = 1
[process.fake]
"""
"quoted.key" = 'it''s'
env = { A = "1", B = "[" }
list = [
  "a = 1",
  { z = 1 },
]
lit = '''
x = '''
process.web.command = "y"
[ process . "db.1" ]
a.b = 2
`
	got := keyLines(src)
	want := map[string]int{
		"name": 2, "process": 3, "process\x00api": 3, "process\x00api\x00command": 4,
		"process\x00api\x00quoted.key": 8, "process\x00api\x00env": 9, "process\x00api\x00list": 10,
		"process\x00api\x00lit": 14, "process\x00api\x00process\x00web\x00command": 16,
		"process\x00db.1": 17, "process\x00db.1\x00a": 18, "process\x00db.1\x00a\x00b": 18,
	}
	for k, l := range want {
		if got[k] != l {
			t.Errorf("line of %q = %d, want %d", strings.ReplaceAll(k, "\x00", "."), got[k], l)
		}
	}
	for k := range got {
		if strings.Contains(k, "fake") || k == "x" || strings.HasSuffix(k, "\x00z") {
			t.Errorf("found key %q inside a value", k)
		}
	}
}

func TestSelect(t *testing.T) {
	st, err := parse(t, `
[process.db]
command = "a"
[process.cache]
command = "b"
[process.api]
command = "c"
depends_on = ["db", "cache"]
[process.web]
command = "d"
depends_on = ["api"]
[process.cron]
command = "e"
depends_on = ["db"]
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		names      []string
		dependents bool
		want       []string
	}{
		{nil, false, []string{"db", "cache", "api", "web", "cron"}},
		{[]string{"api"}, false, []string{"db", "cache", "api"}},
		{[]string{"web", "cron"}, false, []string{"db", "cache", "api", "web", "cron"}},
		{[]string{"db"}, true, []string{"db", "api", "web", "cron"}},
		{[]string{"api"}, true, []string{"api", "web"}},
	} {
		sel, err := st.Select(tc.names, tc.dependents)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(sel); !slices.Equal(got, tc.want) {
			t.Errorf("Select(%v, %v) = %v, want %v", tc.names, tc.dependents, got, tc.want)
		}
	}
	if _, err := st.Select([]string{"nope"}, false); err == nil || !strings.Contains(err.Error(), `no process "nope"`) {
		t.Errorf("unknown name: %v", err)
	}
}

// TestRunOrdered checks that each name runs only after what it waits for
// is done, that independent ones overlap up to the worker bound and no
// further, and that a failure skips what waits for it, transitively.
func TestRunOrdered(t *testing.T) {
	waits := map[string][]string{
		"api": {"db", "cache"}, "web": {"api"}, "cron": {"db"},
	}
	all := []string{"db", "cache", "api", "web", "cron", "x1", "x2", "x3", "x4", "x5"}
	var mu sync.Mutex
	finished := map[string]bool{}
	var inflight, peak atomic.Int32
	res := runOrdered(context.Background(), all, waits, 3, func(n string) error {
		mu.Lock()
		for _, d := range waits[n] {
			if !finished[d] {
				t.Errorf("%s ran before %s finished", n, d)
			}
		}
		mu.Unlock()
		cur := inflight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inflight.Add(-1)
		mu.Lock()
		finished[n] = true
		mu.Unlock()
		return nil
	}, func(n, because string) { t.Errorf("%s skipped because of %s", n, because) })
	if len(res) != len(all) {
		t.Fatalf("%d results for %d names", len(res), len(all))
	}
	for n, err := range res {
		if err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if p := peak.Load(); p > 3 || p < 1 {
		t.Errorf("peak of %d at once, want 1 to 3", p)
	}

	// A failure skips its dependents and theirs; others still run.
	var skipped []string
	var ran []string
	res = runOrdered(context.Background(), all, waits, 2, func(n string) error {
		mu.Lock()
		ran = append(ran, n)
		mu.Unlock()
		if n == "db" {
			return errors.New("boom")
		}
		return nil
	}, func(n, because string) {
		mu.Lock()
		skipped = append(skipped, n+"<"+because)
		mu.Unlock()
	})
	slices.Sort(skipped)
	if want := []string{"api<db", "cron<db", "web<api"}; !slices.Equal(skipped, want) {
		t.Errorf("skipped %v, want %v", skipped, want)
	}
	if slices.Contains(ran, "api") || slices.Contains(ran, "web") || !slices.Contains(ran, "cache") {
		t.Errorf("ran %v", ran)
	}
	if !errors.Is(res["web"], errDependency) || res["x1"] != nil || res["db"] == nil {
		t.Errorf("results %v", res)
	}

	// Once the context is done nothing more starts.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = runOrdered(ctx, []string{"a", "b"}, nil, 1, func(n string) error {
		t.Errorf("%s ran after cancel", n)
		return nil
	}, func(string, string) {})
	if !errors.Is(res["a"], context.Canceled) {
		t.Errorf("a: %v", res["a"])
	}
}

func TestSameDefinition(t *testing.T) {
	st := &Stack{Name: "shop"}
	sp := Process{Name: "api", Command: "docker run redis", Dir: "/srv", Env: []run.EnvVar{{Key: "A", Value: "1"}},
		EnvFiles: []string{".env"}, Guard: true, Ignore: []string{"tmp"}}
	set := stackSet(st, sp)
	if want := []string{"A=1", "BGR_GROUP=shop"}; !slices.Equal(set, want) {
		t.Fatalf("set %v, want %v", set, want)
	}
	rec := store.Record{Name: "api", Command: docker.Label(sp.Command, "api"), Dir: "/srv", Set: set,
		EnvFiles: []string{".env"}, Guard: true, WatchIgnore: []string{"tmp"}, StdoutPath: "/h/api-out.txt"}
	if !sameDefinition(rec, sp, set) {
		t.Fatal("a record started from the definition differs from it")
	}
	for name, change := range map[string]func(*store.Record){
		"command":  func(r *store.Record) { r.Command = "docker run redis:7" },
		"dir":      func(r *store.Record) { r.Dir = "/other" },
		"env":      func(r *store.Record) { r.Set = []string{"A=2", "BGR_GROUP=shop"} },
		"config":   func(r *store.Record) { r.ConfigPath = "x.toml" },
		"guard":    func(r *store.Record) { r.Guard = false },
		"envfiles": func(r *store.Record) { r.EnvFiles = nil },
	} {
		r := rec
		change(&r)
		if sameDefinition(r, sp, set) {
			t.Errorf("a changed %s went unnoticed", name)
		}
	}
	sp.Stdout = "/var/log/api.txt"
	if sameDefinition(rec, sp, set) {
		t.Error("a changed stdout path went unnoticed")
	}
}

func TestLoadStackFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := load(filepath.Join(dir, "bgrun.toml")); err == nil || !strings.Contains(err.Error(), "no stack file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a folder: %v", err)
	}
	p := filepath.Join(dir, "s.toml")
	os.WriteFile(p, []byte("[process.a]\ncommand = \"x\"\ndirectory = \"sub\"\n"), 0o600)
	st, err := load(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Procs[0].Dir != filepath.Join(dir, "sub") || st.Name != filepath.Base(dir) {
		t.Errorf("dir %q name %q", st.Procs[0].Dir, st.Name)
	}
}
