package run

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// hardEnvValues are values that break naive quoting in at least one shell.
var hardEnvValues = []string{
	"",
	"plain",
	"it's",
	"''",
	`"double"`,
	`\'`,
	"a b  c ",
	" leading",
	"$HOME ${HOME} $(echo no) $((1+1))",
	"`date`",
	`back\slash \\ \n \t \`,
	"line1\nline2",
	"trailing newline\n",
	"\n\n",
	"\ttab\there",
	"cr\r\nlf",
	"héllo 世界 🚀",
	"\u2018curly\u2019 \u201aquotes\u201b",
	"!bang !! ^caret",
	"*glob? [a-z] ~ ~/x",
	"%PATH% %%",
	"-n",
	"--",
	"a=b;c&d|e<f>g(h)",
	"#not a comment",
	"{brace} ; end",
}

// envShellCase renders values with keys BGRUN_T_0, BGRUN_T_1... so that they
// cannot clash with the test's own environment.
func envShellCase(values []string) []EnvVar {
	out := make([]EnvVar, len(values))
	for i, v := range values {
		out[i] = EnvVar{Key: fmt.Sprintf("BGRUN_T_%d", i), Value: v}
	}
	return out
}

// randomEnvValues returns values of random bytes (never NUL), from a fixed seed
// so that a failure repeats; utf8Only keeps them valid UTF-8.
func randomEnvValues(n int, utf8Only bool) []string {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]string, 0, n)
	for len(out) < n {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = byte(1 + r.IntN(255))
		}
		if utf8Only {
			b = []byte(strings.ToValidUTF8(string(b), "\u00e9"))
		}
		out = append(out, string(b))
	}
	return out
}

// needEnvShell returns the path of a shell, skipping the test when it is not
// installed.
func needEnvShell(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("install %s to test its RenderEnv output", name)
	}
	return path
}

// shellExportedEnv evaluates script in a real shell started with argv and
// returns the environment of a process that the shell then runs (env -0),
// which proves the variables were exported, not just set.
func shellExportedEnv(t *testing.T, argv []string, script string) map[string]string {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(argv[0], append(argv[1:], script)...)
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	cmd.Dir = home
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\nstderr: %s", argv[0], err, stderr.String())
	}
	env := make(map[string]string)
	for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// checkEnvRoundTrip fails unless env holds every variable byte for byte.
func checkEnvRoundTrip(t *testing.T, shell string, want []EnvVar, env map[string]string) {
	t.Helper()
	for _, v := range want {
		got, ok := env[v.Key]
		if !ok {
			t.Errorf("%s: %s not exported (want %q)", shell, v.Key, v.Value)
			continue
		}
		if got != v.Value {
			t.Errorf("%s: %s = %q, want %q", shell, v.Key, got, v.Value)
		}
	}
}

// writeRenderedEnv renders vars for shell into a file and returns its path.
func writeRenderedEnv(t *testing.T, vars []EnvVar, shell, name string) string {
	t.Helper()
	out, err := renderEnv(vars, shell)
	if err != nil {
		t.Fatalf("RenderEnv(%s): %v", shell, err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRenderEnvPOSIXShells(t *testing.T) {
	t.Parallel()
	values := append(append([]string{}, hardEnvValues...), randomEnvValues(40, false)...)
	values = append(values, "\xff\xfe not utf-8")
	for _, shell := range []string{"sh", "bash", "zsh", "dash"} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			path := needEnvShell(t, shell)
			argv := []string{path, "-c"}
			if shell == "zsh" {
				argv = []string{path, "-f", "-c"}
			}
			want := envShellCase(values)
			render := shell
			if shell == "dash" {
				render = "sh"
			}
			file := writeRenderedEnv(t, want, render, "env.sh")
			// eval "$(...)" is how users apply `bgrun --env`; the command
			// substitution strips trailing newlines, which must not cost a
			// value its own.
			script := `eval "$(cat '` + file + `')" && exec env -0`
			checkEnvRoundTrip(t, shell, want, shellExportedEnv(t, argv, script))
			// Sourcing the file must give the same.
			checkEnvRoundTrip(t, shell, want, shellExportedEnv(t, argv, `. '`+file+`' && exec env -0`))
		})
	}
}

func TestRenderEnvFish(t *testing.T) {
	t.Parallel()
	path := needEnvShell(t, "fish")
	values := append(append([]string{}, hardEnvValues...), randomEnvValues(40, true)...)
	want := envShellCase(values)
	file := writeRenderedEnv(t, want, "fish", "env.fish")
	argv := []string{path, "--no-config", "-c"}
	checkEnvRoundTrip(t, "fish", want, shellExportedEnv(t, argv, "source '"+file+"'; and exec env -0"))
	// `bgrun --env --shell fish | source` is the usual way to apply it.
	checkEnvRoundTrip(t, "fish", want, shellExportedEnv(t, argv, "cat '"+file+"' | source; and exec env -0"))
}

func TestRenderEnvGolden(t *testing.T) {
	t.Parallel()
	in := cfgVars("A", "it's", "B", `C:\x`, "C", "")
	tests := []struct {
		shell, want string
	}{
		{"sh", "export A='it'\\''s'\nexport B='C:\\x'\nexport C=''\n"},
		{"bash", "export A='it'\\''s'\nexport B='C:\\x'\nexport C=''\n"},
		{"ZSH", "export A='it'\\''s'\nexport B='C:\\x'\nexport C=''\n"},
		{"fish", "set -gx A 'it\\'s'\nset -gx B 'C:\\\\x'\nset -gx C ''\n"},
		{"powershell", "$env:A = 'it''s'\n$env:B = 'C:\\x'\n$env:C = ''\n"},
		{"pwsh", "$env:A = 'it''s'\n$env:B = 'C:\\x'\n$env:C = ''\n"},
		{"cmd", "set \"A=it's\"\r\nset \"B=C:\\x\"\r\nset \"C=\"\r\n"},
		{"json", "{\n  \"A\": \"it's\",\n  \"B\": \"C:\\\\x\",\n  \"C\": \"\"\n}\n"},
	}
	for _, tt := range tests {
		got, err := renderEnv(in, tt.shell)
		if err != nil {
			t.Errorf("RenderEnv(%s): %v", tt.shell, err)
			continue
		}
		if got != tt.want {
			t.Errorf("RenderEnv(%s):\n got %q\nwant %q", tt.shell, got, tt.want)
		}
	}
	if got, _ := renderEnv(cfgVars("Q", "\u2019"), "powershell"); got != "$env:Q = '\u2019\u2019'\n" {
		t.Errorf("RenderEnv(powershell) of a curly quote = %q, want it doubled", got)
	}
	if got, _ := renderEnv(cfgVars("P", "100% & <ok>", "API-KEY", "k"), "cmd"); got != "set \"P=100%% & <ok>\"\r\nset \"API-KEY=k\"\r\n" {
		t.Errorf("RenderEnv(cmd) = %q", got)
	}
	if got, _ := renderEnv(cfgVars("A", "1", "B", "2", "A", "3"), "sh"); got != "export A='3'\nexport B='2'\n" {
		t.Errorf("RenderEnv(sh) with a duplicate key = %q", got)
	}
	for _, shell := range []string{"sh", "fish", "powershell", "cmd"} {
		if got, err := renderEnv(nil, shell); err != nil || got != "" {
			t.Errorf("RenderEnv(nil, %s) = %q, %v; want empty", shell, got, err)
		}
	}
	if got, err := renderEnv(nil, "json"); err != nil || got != "{}\n" {
		t.Errorf("RenderEnv(nil, json) = %q, %v; want {}", got, err)
	}
}

func TestRenderEnvJSON(t *testing.T) {
	t.Parallel()
	want := envShellCase(append(append([]string{}, hardEnvValues...), randomEnvValues(40, true)...))
	want = append(want, EnvVar{Key: "API-KEY", Value: "<a&b>"})
	out, err := renderEnv(want, "json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	checkEnvRoundTrip(t, "json", want, got)
	if !strings.Contains(out, `"<a&b>"`) {
		t.Errorf("JSON escaped HTML characters: %s", out)
	}
	// Keys must come out in order.
	last := -1
	for _, v := range want {
		i := strings.Index(out, `"`+v.Key+`"`)
		if i < last {
			t.Errorf("%s is out of order in %s", v.Key, out)
		}
		last = i
	}
}

func TestRenderEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		shell string
		vars  []EnvVar
		want  string
	}{
		{"sh", cfgVars("API-KEY", "x"), `"API-KEY" is not a valid variable name`},
		{"bash", cfgVars("1A", "x"), `"1A" is not a valid variable name`},
		{"fish", cfgVars("A B", "x"), `"A B" is not a valid variable name`},
		{"powershell", cfgVars("", "x"), `"" is not a valid variable name`},
		{"cmd", cfgVars("A=B", "x"), `"A=B" is not a valid variable name`},
		{"cmd", cfgVars("A", "two\nlines"), "newline"},
		{"cmd", cfgVars("A", "cr\r"), "newline"},
		{"cmd", cfgVars("A", `say "hi"`), "double quote"},
		{"sh", cfgVars("A", "x\x00y"), "NUL"},
		{"json", cfgVars("A", "\xff"), "not UTF-8"},
		{"json", cfgVars("", "x"), "empty name"},
	}
	for _, tt := range tests {
		out, err := renderEnv(tt.vars, tt.shell)
		if err == nil {
			t.Errorf("RenderEnv(%q, %s) = %q, want error containing %q", tt.vars, tt.shell, out, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("RenderEnv(%q, %s) error %q does not contain %q", tt.vars, tt.shell, err, tt.want)
		}
		if errors.Is(err, ErrUnknownShell) {
			t.Errorf("RenderEnv(%s) error %q wraps ErrUnknownShell", tt.shell, err)
		}
	}
}

func TestRenderEnvUnknownShell(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"", "csh", "nushell", "ps1", "sh "} {
		_, err := renderEnv(cfgVars("A", "1"), shell)
		if !errors.Is(err, ErrUnknownShell) {
			t.Errorf("RenderEnv(%q) error = %v, want ErrUnknownShell", shell, err)
			continue
		}
		for _, name := range []string{"sh", "bash", "zsh", "fish", "powershell", "pwsh", "cmd", "json"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("RenderEnv(%q) error %q does not list %s", shell, err, name)
			}
		}
	}
}

// FuzzRenderEnv holds that renderEnv never panics and that its JSON output,
// when it succeeds, decodes back to the same values.
func FuzzRenderEnv(f *testing.F) {
	for _, v := range hardEnvValues {
		f.Add("KEY", v, "json")
	}
	f.Add("A-B", "x", "cmd")
	f.Add("A", "\xff", "fish")
	f.Fuzz(func(t *testing.T, key, value, shell string) {
		out, err := renderEnv([]EnvVar{{Key: key, Value: value}}, shell)
		if err != nil || !strings.EqualFold(shell, "json") {
			return
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("json output %q does not decode: %v", out, err)
		}
		if !utf8.ValidString(value) || got[key] != value {
			t.Fatalf("json round trip: got %q, want %q", got[key], value)
		}
	})
}
