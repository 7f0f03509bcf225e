package run

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	"bgrun/store"
)

var plainArg = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`) })

// JoinArgs joins argv into one shell command line, quoting what needs it, so
// `bgrun -- node server.js --port 3000` runs exactly that argv.
func JoinArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if plainArg().MatchString(a) {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// runners are programs whose first argument names the real program.
var runners = map[string]bool{"bun": true, "bunx": true, "node": true, "npm": true, "npx": true, "pnpm": true,
	"yarn": true, "python": true, "python3": true, "deno": true, "ts-node": true, "go": true, "uv": true,
	"cargo": true, "ruby": true, "php": true, "env": true, "exec": true, "sudo": true, "uvx": true}

// verbs are runner subcommands that come before the script's name.
var verbs = map[string]bool{"run": true, "test": true, "dev": true, "start": true, "exec": true, "x": true, "-m": true}

var unsafeRun = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9._-]+`) })

// deriveName names a process after its command: the script or program it
// runs, without folders or extension ("bun run src/server.ts" → "server",
// "npm run dev" → "dev", "python3 -m http.server 8000" → "http.server").
func deriveName(command string) string {
	toks := strings.Fields(command)
	for len(toks) > 0 && strings.Contains(toks[0], "=") && !strings.HasPrefix(toks[0], "-") {
		toks = toks[1:] // FOO=bar cmd
	}
	last := ""
	if len(toks) > 0 && runners[path.Base(toks[0])] {
		last, toks = toks[0], toks[1:]
		for len(toks) > 0 && (verbs[toks[0]] || (strings.HasPrefix(toks[0], "-") && toks[0] != "-m")) {
			last, toks = toks[0], toks[1:]
		}
	}
	t := last
	if len(toks) > 0 {
		t = toks[0]
	}
	t = strings.Trim(t, `'"`)
	if _, after, ok := strings.Cut(t, ":"); ok && after != "" && !strings.Contains(t, "/") {
		t = after // npm run build:watch → watch
	}
	t = path.Base(t)
	for _, ext := range []string{".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".py", ".rb", ".sh", ".go", ".php"} {
		t = strings.TrimSuffix(t, ext)
	}
	t = strings.Trim(unsafeRun().ReplaceAllString(strings.ToLower(t), "-"), "-._")
	if len(t) > store.MaxNameLen-4 {
		t = t[:store.MaxNameLen-4]
	}
	if t == "" {
		return "process"
	}
	return t
}

// nameFor picks the name for `bgrun -- CMD`: deriveName, or that name with
// -1, -2, ... when a record of that name runs another command. The same
// command gets the same name again, so re-running it reaches the same record
// (refused while it runs, replaced with --force).
func nameFor(db *store.DB, command string) (string, error) {
	base := deriveName(command)
	for i := 0; i < 1000; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		r, err := db.Get(name)
		if errors.Is(err, store.ErrNotFound) || (err == nil && r.Command == command) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%w for %q", ErrNoFreeName, command)
}

// ErrNoFreeName is the answer of nameFor when every name it would give a
// command is taken by another: a conflict, which a --name resolves.
var ErrNoFreeName = store.Errorf(store.KindConflict, "no free name")
