package run

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []EnvVar
	}{
		{name: "empty", in: "", want: nil},
		{name: "blank and comment lines", in: "\n  \n# c\n   # indented\n\t\n", want: nil},
		{name: "simple", in: "A=1\nB=two\n", want: cfgVars("A", "1", "B", "two")},
		{name: "no final newline", in: "A=1", want: cfgVars("A", "1")},
		{name: "crlf", in: "A=1\r\nB=\"x\r\ny\"\r\n", want: cfgVars("A", "1", "B", "x\ny")},
		{name: "byte order mark", in: "\ufeffA=1\n", want: cfgVars("A", "1")},
		{name: "export prefix", in: "export A=1\nexport\tB=2\nexport=3\nexporter=4\n", want: cfgVars("A", "1", "B", "2", "export", "3", "exporter", "4")},
		{name: "spaces around =", in: "A = 1\nB\t=\t two words  \n  C=3\n", want: cfgVars("A", "1", "B", "two words", "C", "3")},
		{name: "key characters", in: "_a.b_9=x\nlower=y\n", want: cfgVars("_a.b_9", "x", "lower", "y")},
		{name: "empty values", in: "A=\nB= \nC=\"\"\nD=''\nE= # only a comment\n", want: cfgVars("A", "", "B", "", "C", "", "D", "", "E", "")},
		{
			name: "inline comments on unquoted values",
			in:   "A=value # comment\nB=value\t# tab comment\nC=a#b\nD=#fff\nE=x #\n",
			want: cfgVars("A", "value", "B", "value", "C", "a#b", "D", "#fff", "E", "x"),
		},
		{
			name: "unquoted values are literal",
			in:   "A=$HOME\nB=a\\nb\nC=it's\nD=say \"hi\"\nE=x=y\n",
			want: cfgVars("A", "$HOME", "B", `a\nb`, "C", "it's", "D", `say "hi"`, "E", "x=y"),
		},
		{
			name: "single quotes are literal",
			in:   "A='$HOME \\n \"x\" # not a comment'\nB=  'padded'  \nC='a' # comment\n",
			want: cfgVars("A", `$HOME \n "x" # not a comment`, "B", "padded", "C", "a"),
		},
		{
			name: "double-quote escapes",
			in:   `A="a\nb\tc\rd\"e\\f\$g"` + "\n" + `B="C:\Users\x"` + "\n" + `C="$HOME ${X}"` + "\n",
			want: cfgVars("A", "a\nb\tc\rd\"e\\f$g", "B", `C:\Users\x`, "C", "$HOME ${X}"),
		},
		{
			name: "quoted values span lines",
			in:   "KEY=\"-----BEGIN KEY-----\nabc\n-----END KEY-----\"\nNEXT=1\nS='one\n\ntwo'\nLAST=2\n",
			want: cfgVars("KEY", "-----BEGIN KEY-----\nabc\n-----END KEY-----", "NEXT", "1", "S", "one\n\ntwo", "LAST", "2"),
		},
		{
			name: "quote inside the other quotes",
			in:   `A="it's"` + "\n" + `B='say "hi"'` + "\n",
			want: cfgVars("A", "it's", "B", `say "hi"`),
		},
		{name: "duplicate keys: later value, first place", in: "A=1\nB=2\nA=3\n", want: cfgVars("A", "3", "B", "2")},
		{name: "unicode", in: "A=héllo 世界 🚀\nB=\"ü\"\n", want: cfgVars("A", "héllo 世界 🚀", "B", "ü")},
		{
			name: "sample fixture",
			in:   string(cfgFixture(t, "sample.env")),
			want: cfgVars(
				"NODE_ENV", "production", "PORT", "3000", "GREETING", "hello\n\"world\"",
				"RAW", `no $expansion \n here`, "MULTI", "first\nsecond", "URL", "http://x/#frag", "EMPTY", "",
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseDotenv(".env", []byte(tt.in))
			if err != nil {
				t.Fatalf("ParseDotenv: %v", err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseDotenv:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseDotenvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"no equals", "A=1\n\n# c\nJUSTAWORD\n", `.env:4: invalid line "JUSTAWORD"`},
		{"key starts with digit", "1A=x\n", `.env:1: invalid line "1A=x": a key is`},
		{"key with hyphen", "A=1\nMY-KEY=x\n", `.env:2: invalid line "MY-KEY=x": a key is`},
		{"key with space", "MY KEY=x\n", `.env:1: invalid line "MY KEY=x"`},
		{"export alone", "export\n", `.env:1: invalid line "export"`},
		{"empty key", "=x\n", `.env:1: invalid line "=x"`},
		{"unterminated double", "A=1\nB=\"abc\nC=2\n", `.env:2: value of B: double quote opened here is never closed`},
		{"unterminated single", "A='abc", `.env:1: value of A: single quote opened here is never closed`},
		{"escaped closing quote", `A="abc\"`, `.env:1: value of A: double quote`},
		{"text after closing quote", "A=1\nB=\"x\ny\" z\n", `.env:3: invalid line "y\" z": only a # comment`},
		{"line after multiline value counts", "A=\"x\ny\"\nBAD\n", `.env:3: invalid line "BAD"`},
		{"nul byte", "A=\"x\\\x00\"\n", "NUL"},
		{"nul byte unquoted", "A=x\x00y\n", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseDotenv(".env", []byte(tt.in))
			if err == nil {
				t.Fatalf("ParseDotenv = %q, want error containing %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadDotenv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	if err := os.WriteFile(path, []byte("A=1\nbad line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadDotenv(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":2: invalid line") {
		t.Errorf("LoadDotenv error = %v, want it to start with %s:2: invalid line", err, path)
	}
	_, err = loadDotenv(filepath.Join(dir, "missing.env"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadDotenv of a missing file: %v, want os.ErrNotExist", err)
	}
	got, err := loadDotenv(filepath.Join("testdata", "sample.env"))
	if err != nil || len(got) != 7 {
		t.Errorf("LoadDotenv(sample.env) = %q, %v; want 7 variables", got, err)
	}
}

// FuzzParseDotenv holds that no input makes parseDotenv panic, that it is
// deterministic, and that every variable it returns has a valid key and a
// value an environment can carry.
func FuzzParseDotenv(f *testing.F) {
	f.Add(cfgFixture(f, "sample.env"))
	for _, s := range []string{"", "A=1", "A=\"x\\", "A='", "export A = 'b' # c", "A=\"\n\n\"\nB=1", "=", "A=\"\\$\\q\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err1 := parseDotenv("fuzz.env", data)
		second, err2 := parseDotenv("fuzz.env", data)
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("errors differ: %v, then %v", err1, err2)
		}
		if !slices.Equal(first, second) {
			t.Fatalf("output differs:\n%q\n%q", first, second)
		}
		for _, v := range first {
			if v.Key == "" || !isDotenvKeyByte(v.Key[0], true) || strings.IndexByte(v.Value, 0) >= 0 {
				t.Fatalf("variable %q cannot be in an environment", v)
			}
		}
	})
}
