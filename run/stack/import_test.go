package stack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestImportPM2App(t *testing.T) {
	procs, notes, err := importPM2("eco.json", []byte(`[
		{"script": "bin/server", "interpreter": "none", "args": "-v"},
		{"name": "api v2", "script": "app.py", "interpreter": "python3", "interpreter_args": ["-u"],
		 "args": ["a b", "c"], "autorestart": false, "max_restarts": 3, "unknown_thing": 1},
		{"name": "npm", "script": "npm", "args": "start", "instances": 1, "exec_mode": "fork"}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, p := range procs {
		got = append(got, p.name+" | "+p.command+" | "+strings.Join(p.extra, ";"))
	}
	want := []string{
		"server | bin/server -v | guard = true",
		"api-v2 | python3 -u app.py 'a b' c | max_restarts = 3",
		"npm | npm start | guard = true",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantNotes := []string{
		"api v2: renamed to api-v2 (bgrun names use letters, digits, '.', '_' and '-')",
		"api-v2: unknown_thing not carried over: bgrun has no such setting",
	}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("notes\n%s\nwant\n%s", strings.Join(notes, "\n"), strings.Join(wantNotes, "\n"))
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ file, content, want string }{
		{"Procfile", "web: a\nthis is not a line\n", "Procfile:2: want NAME: COMMAND"},
		{"Procfile.dev", "web: a\nweb: b\n", "Procfile.dev:2: process web is defined twice"},
		{"eco.json", `{"apps": [{"name": "a"}]}`, "app 1 has no script"},
		{"eco2.json", `{"apps": [{"name": "a", "script": "x"}, {"name": "a", "script": "y"}]}`, "two apps are named a"},
		{"eco3.json", `{"version": 1}`, "has no apps array"},
		{"eco4.json", `{"apps": [`, "is not a PM2 ecosystem file"},
		{"empty.json", `{"apps": []}`, "defines no processes"},
	} {
		p := write(tc.file, tc.content)
		var out, errb bytes.Buffer
		err := Import(context.Background(), p, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.file, err, tc.want)
		}
		if out.Len() > 0 {
			t.Errorf("%s: printed %q on an error", tc.file, out.String())
		}
	}

	// Without node, a JavaScript file gets a clear error.
	js := write("ecosystem.config.js", "module.exports = {apps: []}\n")
	t.Setenv("PATH", t.TempDir())
	err := Import(context.Background(), js, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "needs node, which is not installed") {
		t.Errorf("without node: %v", err)
	}
}

// TestImportOutputParses checks that what import prints is a stack file
// that load accepts, quoting and all.
func TestImportOutputParses(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "Procfile")
	os.WriteFile(pf, []byte("web: echo \"a\\tb\" 'c' $PORT\nworker.1: run\n"), 0o600)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("A=1\n"), 0o600)
	var out, errb bytes.Buffer
	if err := Import(context.Background(), pf, &out, &errb); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bgrun.toml")
	os.WriteFile(p, out.Bytes(), 0o600)
	st, err := load(p)
	if err != nil {
		t.Fatalf("%v in\n%s", err, out.String())
	}
	if st.Procs[0].Command != `echo "a\tb" 'c' $PORT` || st.Procs[1].Name != "worker.1" ||
		!slices.Equal(st.Procs[0].EnvFiles, []string{".env"}) {
		t.Errorf("procs %+v", st.Procs)
	}
}
