package main

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sampleArgs are arguments that satisfy c's least number of arguments.
func sampleArgs(c *command) []string {
	switch c.name {
	case "kill-port":
		return []string{"8080"}
	case "completion":
		return []string{"bash"}
	}
	var args []string
	for range c.args[0] {
		args = append(args, "api")
	}
	return args
}

// sampleValue is a valid value for a flag of kind k.
func sampleValue(k kind) string {
	switch k {
	case countKind:
		return "3"
	case durKind:
		return "2s"
	case portKind:
		return "5000"
	case sizeKind:
		return "500M"
	case readyKind:
		return "tcp:5000"
	case initKind:
		return "systemd"
	}
	return "x"
}

// TestCommandTable goes over every command: each flag it takes parses, a
// flag it does not take is a usage error naming it, and --help prints its
// usage.
func TestCommandTable(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			takes := map[string]bool{}
			for _, f := range flagsOf(c) {
				takes[f.name] = true
				if f.name == "help" {
					continue
				}
				args := append([]string{c.name}, sampleArgs(c)...)
				args = append(args, "--"+f.name)
				if f.kind != boolKind {
					args = append(args, sampleValue(f.kind))
				}
				in, err := parse(args)
				if err != nil {
					t.Errorf("%q: %v", args, err)
					continue
				}
				if in.cmd != c || in.vals[f.name] == nil {
					t.Errorf("%q: command %s, value %v", args, in.cmd.name, in.vals[f.name])
				}
				if f.short != "" {
					args[len(args)-1-btoi(f.kind != boolKind)] = "-" + f.short
					if in, err := parse(args); err != nil || in.vals[f.name] == nil {
						t.Errorf("%q: %v", args, err)
					}
				}
			}
			for _, f := range flagDefs {
				if takes[f.name] {
					continue
				}
				args := append(append([]string{c.name}, sampleArgs(c)...), "--"+f.name, sampleValue(f.kind))
				var ue usageError
				if _, err := parse(args); !errors.As(err, &ue) || ue.cmd != c.name {
					t.Errorf("%q: want a usage error of %s, got %v", args, c.name, err)
				}
			}
			var out, errb bytes.Buffer
			if code := Main(context.Background(), []string{c.name, "--help"}, &out, &errb); code != 0 ||
				!strings.HasPrefix(out.String(), "Usage: bgrun "+c.name) {
				t.Errorf("%s --help: exit %d, %q %q", c.name, code, out.String(), errb.String())
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestOriginalForms holds that each of the original's forms parses to the
// same command, flags and arguments as its subcommand form.
func TestOriginalForms(t *testing.T) {
	for _, tc := range []struct{ old, sub string }{
		{"", "ps"},
		{"--json --filter prod", "ps --json --filter prod"},
		{"api", "show api"},
		{"api --json", "show api --json"},
		{"--stop api", "stop api"},
		{"--stop=api --timeout 3s", "stop api --timeout 3s"},
		{"--stop --name api", "stop api"},
		{"--stop-all", "stop --all"},
		{"--restart api", "restart api"},
		{"--restart-all", "restart --all"},
		{"--delete api", "delete api"},
		{"api --logs --lines 5", "logs api --lines 5"},
		{"api -l", "logs api"},
		{"api --log-stdout", "logs api --stdout"},
		{"--clean", "clean"},
		{"--nuke", "nuke"},
		{"--kill-port 8080", "kill-port 8080"},
		{"--env --shell fish", "env --shell fish"},
		{"--dashboard --port 5000", "dashboard --port 5000"},
		{"api --guard", "guard api"},
		{"api --guard-off", "guard api --off"},
		{"--name api --command x --guard", "run --name api --command x --guard"},
		{"--name api --force", "run --name api --force"},
		{"api --force", "run api --force"},
		{"-- sleep 1", "run -- sleep 1"},
		{"--name api -- sleep 1", "run --name api -- sleep 1"},
		{"--version", "version"},
		{"-v", "version"},
		{"--_supervise api --db x", "_supervise api --db x"},
	} {
		old, err1 := parse(strings.Fields(tc.old))
		sub, err2 := parse(strings.Fields(tc.sub))
		if err1 != nil || err2 != nil {
			t.Errorf("%q: %v; %q: %v", tc.old, err1, tc.sub, err2)
			continue
		}
		if old.cmd != sub.cmd || !reflect.DeepEqual(old.vals, sub.vals) || !reflect.DeepEqual(old.args, sub.args) ||
			!reflect.DeepEqual(old.rest, sub.rest) {
			t.Errorf("%q is %s %v %q %q; %q is %s %v %q %q", tc.old, old.cmd.name, old.vals, old.args, old.rest,
				tc.sub, sub.cmd.name, sub.vals, sub.args, sub.rest)
		}
	}
}

// TestStrict lists command lines that are usage errors.
func TestStrict(t *testing.T) {
	for _, line := range []string{
		"ps --fetch", "--clean --stop-all", "--stop a --restart", "web --lines abc", "logs x --json",
		"logs x --lines 0", "logs x --lines", "stop x -- y", "ports a b", "--name", "--kill-port abc",
		"--json=maybe", "stpo web", "bun run dev", "ps --jsn", "--dashboard --port 70000",
		"run a --config c --no-config", "restart --timeout 1x a",
	} {
		var ue usageError
		if _, err := parse(strings.Fields(line)); !errors.As(err, &ue) {
			t.Errorf("%q: want a usage error, got %v", line, err)
		}
	}
}

func TestSuggest(t *testing.T) {
	for word, want := range map[string]string{"stpo": "stop", "restrat": "restart", "bun": "", "bogus": "",
		"dashbord": "dashboard", "histroy": "history", "ps": ""} {
		if got := suggestCommand(word); got != want {
			t.Errorf("suggestCommand(%q) = %q, want %q", word, got, want)
		}
	}
}
