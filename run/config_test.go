package run

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// cfgVars builds an []EnvVar from alternating keys and values, to keep the
// tables short.
func cfgVars(kv ...string) []EnvVar {
	out := make([]EnvVar, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, EnvVar{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

// cfgFixture returns a file from testdata, failing the test if it is
// missing.
func cfgFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func TestFlattenTOML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []EnvVar
	}{
		{
			name: "readme production.toml",
			toml: string(cfgFixture(t, "production.toml")),
			want: cfgVars(
				"SERVER_PORT", "3000",
				"SERVER_HOST", "0.0.0.0",
				"DATABASE_URL", "postgresql://localhost/myapp",
				"DATABASE_POOL_SIZE", "10",
				"AUTH_JWT_SECRET", "your-secret-here",
				"AUTH_SESSION_TTL", "3600",
			),
		},
		{name: "empty document", toml: "", want: nil},
		{name: "only comments", toml: "# nothing\n\n", want: nil},
		{
			name: "top-level keys have no prefix",
			toml: "BGR_GROUP = \"prod\"\nport = 8080\n",
			want: cfgVars("BGR_GROUP", "prod", "PORT", "8080"),
		},
		{
			name: "document order, not alphabetical",
			toml: "zeta = 1\nalpha = 2\nmid = 3\n[zz]\nb = 1\na = 2\n[aa]\nz = 1\n",
			want: cfgVars("ZETA", "1", "ALPHA", "2", "MID", "3", "ZZ_B", "1", "ZZ_A", "2", "AA_Z", "1"),
		},
		{
			name: "booleans",
			toml: "yes = true\nno = false\n",
			want: cfgVars("YES", "true", "NO", "false"),
		},
		{
			name: "strings raw",
			toml: `basic = "tab\there \"q\" \u00e9"` + "\n" +
				`literal = 'C:\path\n $HOME'` + "\n" +
				"multi = \"\"\"\nline1\nline2\\\n   joined\"\"\"\n" +
				"multilit = '''\nraw \\n\nnext'''\n" +
				"empty = \"\"\nunicode = \"héllo 世界 🚀\"\n",
			want: cfgVars(
				"BASIC", "tab\there \"q\" é",
				"LITERAL", `C:\path\n $HOME`,
				"MULTI", "line1\nline2joined",
				"MULTILIT", "raw \\n\nnext",
				"EMPTY", "",
				"UNICODE", "héllo 世界 🚀",
			),
		},
		{
			name: "integers",
			toml: "plain = 42\nneg = -17\nplus = +5\nzero = 0\nunder = 1_000_000\n" +
				"hex = 0xDEAD_beef\noct = 0o755\nbin = 0b1101\n" +
				"js_unsafe = 9007199254740993\nmax = 9223372036854775807\nmin = -9223372036854775808\n",
			want: cfgVars(
				"PLAIN", "42", "NEG", "-17", "PLUS", "5", "ZERO", "0", "UNDER", "1000000",
				"HEX", "3735928559", "OCT", "493", "BIN", "13",
				"JS_UNSAFE", "9007199254740993",
				"MAX", "9223372036854775807",
				"MIN", "-9223372036854775808",
			),
		},
		{
			name: "floats",
			toml: "one = 1.0\nthousand = 1e3\npi = 3.14\nneg = -0.5\nplanck = 6.626e-34\n" +
				"avogadro = 5e+22\ne21 = 1e21\ne20 = 1e20\nmicro = 0.000001\nsmall = 1e-7\n" +
				"under = 224_617.445_991_228\ntenth = 0.1\nnegzero = -0.0\nposzero = +0.0\n" +
				"inf1 = inf\ninf2 = +inf\ninf3 = -inf\nnan1 = nan\nnan2 = -nan\nbigint = 12345678901234567890.0\n",
			want: cfgVars(
				"ONE", "1", "THOUSAND", "1000", "PI", "3.14", "NEG", "-0.5", "PLANCK", "6.626e-34",
				"AVOGADRO", "5e+22", "E21", "1e+21", "E20", "100000000000000000000",
				"MICRO", "0.000001", "SMALL", "1e-7",
				"UNDER", "224617.445991228", "TENTH", "0.1", "NEGZERO", "-0", "POSZERO", "0",
				"INF1", "inf", "INF2", "inf", "INF3", "-inf", "NAN1", "nan", "NAN2", "-nan",
				"BIGINT", "12345678901234567000",
			),
		},
		{
			name: "datetimes",
			toml: "utc = 1979-05-27T07:32:00Z\nspace = 1979-05-27 07:32:00z\n" +
				"offset = 1979-05-27T00:32:00-07:00\nfrac = 1979-05-27T00:32:00.999999+05:30\n" +
				"ldt = 1979-05-27T07:32:00\nldtfrac = 1979-05-27T00:32:00.5\n" +
				"ld = 1979-05-27\nlt = 07:32:00\nltfrac = 00:32:00.999999\n",
			want: cfgVars(
				"UTC", "1979-05-27T07:32:00Z",
				"SPACE", "1979-05-27T07:32:00Z",
				"OFFSET", "1979-05-27T00:32:00-07:00",
				"FRAC", "1979-05-27T00:32:00.999999+05:30",
				"LDT", "1979-05-27T07:32:00",
				"LDTFRAC", "1979-05-27T00:32:00.5",
				"LD", "1979-05-27",
				"LT", "07:32:00",
				"LTFRAC", "00:32:00.999999",
			),
		},
		{
			name: "nested tables recurse",
			toml: "[server]\nport = 1\n[server.nested]\nx = 1\n[a.b.c]\nd = \"deep\"\n",
			want: cfgVars("SERVER_PORT", "1", "SERVER_NESTED_X", "1", "A_B_C_D", "deep"),
		},
		{
			name: "inline tables recurse",
			toml: "db = { host = \"h\", opts = { ssl = true } }\n",
			want: cfgVars("DB_HOST", "h", "DB_OPTS_SSL", "true"),
		},
		{
			name: "dotted keys",
			toml: "site.name = \"x\"\nsite.owner.email = \"e\"\n[srv]\nlog.level = \"debug\"\n",
			want: cfgVars("SITE_NAME", "x", "SITE_OWNER_EMAIL", "e", "SRV_LOG_LEVEL", "debug"),
		},
		{
			name: "quoted keys",
			toml: "\"dotted.key\" = 1\n'literal key' = 2\n\"ünï\" = 3\nsite.\"google.com\" = true\n[\"quoted table\"]\nk = 4\n",
			want: cfgVars("DOTTED_KEY", "1", "LITERAL KEY", "2", "ÜNÏ", "3", "SITE_GOOGLE_COM", "true", "QUOTED TABLE_K", "4"),
		},
		{
			name: "hyphens are kept",
			toml: "api-key = \"k\"\n[my-app]\nlog-level = \"info\"\n",
			want: cfgVars("API-KEY", "k", "MY-APP_LOG-LEVEL", "info"),
		},
		{
			name: "arrays index their elements",
			toml: "list = [1, \"two\", true, 4.0]\nempty = []\nafter = 1\n",
			want: cfgVars("LIST_0", "1", "LIST_1", "two", "LIST_2", "true", "LIST_3", "4", "AFTER", "1"),
		},
		{
			name: "nested arrays",
			toml: "[t]\nnested_arr = [[1, 2], [3], [], [[\"x\"]]]\n",
			want: cfgVars("T_NESTED_ARR_0_0", "1", "T_NESTED_ARR_0_1", "2", "T_NESTED_ARR_1_0", "3", "T_NESTED_ARR_3_0_0", "x"),
		},
		{
			name: "arrays of inline tables",
			toml: "deps = [{ name = \"db\", port = 5432 }, { name = \"cache\" }]\n",
			want: cfgVars("DEPS_0_NAME", "db", "DEPS_0_PORT", "5432", "DEPS_1_NAME", "cache"),
		},
		{
			name: "arrays of tables",
			toml: "[[items]]\nb = 1\na = 2\n[[items]]\na = 3\nb = 4\n[[items]]\n",
			want: cfgVars("ITEMS_0_B", "1", "ITEMS_0_A", "2", "ITEMS_1_A", "3", "ITEMS_1_B", "4"),
		},
		{
			name: "arrays of tables nested in arrays of tables",
			toml: "[[fruit]]\nname = \"apple\"\n[fruit.physical]\ncolor = \"red\"\n" +
				"[[fruit.variety]]\nname = \"red delicious\"\n[[fruit.variety]]\nname = \"granny smith\"\n" +
				"[[fruit]]\nname = \"banana\"\n[[fruit.variety]]\nname = \"plantain\"\n",
			want: cfgVars(
				"FRUIT_0_NAME", "apple",
				"FRUIT_0_PHYSICAL_COLOR", "red",
				"FRUIT_0_VARIETY_0_NAME", "red delicious",
				"FRUIT_0_VARIETY_1_NAME", "granny smith",
				"FRUIT_1_NAME", "banana",
				"FRUIT_1_VARIETY_0_NAME", "plantain",
			),
		},
		{
			name: "colliding names: later value, first place",
			toml: "a_b = 1\nc = 2\n[a]\nb = 3\n",
			want: cfgVars("A_B", "3", "C", "2"),
		},
		{
			name: "table defined after its subtable",
			toml: "[x.y]\nz = 1\n[x]\nw = 2\n",
			want: cfgVars("X_Y_Z", "1", "X_W", "2"),
		},
		{
			name: "everything fixture",
			toml: string(cfgFixture(t, "everything.toml")),
			want: cfgVars(
				"BGR_GROUP", "prod", "NAME", "api", "ENABLED", "true", "COUNT", "3735928559",
				"BIG", "9223372036854775807", "RATIO", "1", "PI", "3.14",
				"WHEN", "1979-05-27T07:32:00-08:00", "DAY", "1979-05-27", "AT", "07:32:00",
				"LOCAL", "1979-05-27T07:32:00", "API-KEY", "k", "DOTTED_KEY", "d",
				"LIST_0", "1", "LIST_1", "two", "LIST_2_0", "3", "LIST_2_1", "4", "LIST_3_X", "5",
				"INLINE_A", "1", "INLINE_B_C", "2", "SITE_GOOGLE_COM", "true",
				"SERVER_NESTED_X", "1", "ITEMS_0_A", "1", "ITEMS_0_SUB_0_Z", "first", "ITEMS_1_A", "2",
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FlattenTOML([]byte(tt.toml))
			if err != nil {
				t.Fatalf("FlattenTOML: %v", err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("FlattenTOML:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFlattenTOMLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, toml, want string
	}{
		{"syntax", "a = 1\nb = \n", "line 2, column 5"},
		{"int out of range", "big = 9223372036854775808\n", "out of range"},
		{"duplicate key", "a = 1\na = 2\n", "already been defined"},
		{"empty name", "\"\" = 1\n", "empty name"},
		{"equals in name", "\"a=b\" = 1\n", `"A=B"`},
		{"nul in name", "\"a\\u0000b\" = 1\n", "NUL"},
		{"nul in value", "a = \"x\\u0000y\"\n", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FlattenTOML([]byte(tt.toml))
			if err == nil {
				t.Fatalf("FlattenTOML = %q, want error containing %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	got, err := loadConfig(filepath.Join("testdata", "production.toml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"SERVER_PORT=3000", "SERVER_HOST=0.0.0.0", "DATABASE_URL=postgresql://localhost/myapp",
		"DATABASE_POOL_SIZE=10", "AUTH_JWT_SECRET=your-secret-here", "AUTH_SESSION_TTL=3600",
	}
	if !slices.Equal(envList(got), want) {
		t.Errorf("LoadConfig = %q, want %q", envList(got), want)
	}
}

func TestLoadConfigInvalid(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "production.toml")
	if err := os.WriteFile(path, cfgFixture(t, "invalid.toml"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfig(path)
	if err == nil {
		t.Fatal("LoadConfig of invalid TOML succeeded")
	}
	want := path + `:3:8: expected value but found '=' instead`
	if err.Error() != want {
		t.Errorf("LoadConfig error:\n got %s\nwant %s", err, want)
	}
	var pe toml.ParseError
	if !errors.As(err, &pe) || pe.Position.Line != 3 {
		t.Errorf("error %v does not unwrap to a toml.ParseError on line 3", err)
	}
}

func TestLoadConfigMissing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), ".config.toml")
	_, err := loadConfig(path)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadConfig of a missing file: %v, want os.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
}

func TestMergeEnv(t *testing.T) {
	t.Parallel()
	got := mergeEnv(
		cfgVars("PATH", "/bin", "HOME", "/root", "PATH", "/usr/bin"),
		nil,
		cfgVars("PORT", "3000", "HOME", "/home/u"),
		cfgVars("PATH", "/opt/bin"),
	)
	want := cfgVars("PATH", "/opt/bin", "HOME", "/home/u", "PORT", "3000")
	if !slices.Equal(got, want) {
		t.Errorf("MergeEnv = %q, want %q", got, want)
	}
	if got := mergeEnv(); len(got) != 0 {
		t.Errorf("MergeEnv() = %q, want empty", got)
	}
}

func TestEnvListRoundTrip(t *testing.T) {
	t.Parallel()
	in := cfgVars("A", "1", "B", "x=y", "EMPTY", "", "NL", "a\nb")
	list := envList(in)
	want := []string{"A=1", "B=x=y", "EMPTY=", "NL=a\nb"}
	if !slices.Equal(list, want) {
		t.Fatalf("EnvList = %q, want %q", list, want)
	}
	if back := EnvFromList(list); !slices.Equal(back, in) {
		t.Errorf("EnvFromList(EnvList(x)) = %q, want %q", back, in)
	}
	got := EnvFromList([]string{"=C:=C:\\dir", "NOEQUALS", "", "K=v"})
	if want := cfgVars("=C:", "C:\\dir", "K", "v"); !slices.Equal(got, want) {
		t.Errorf("EnvFromList = %q, want %q", got, want)
	}
}

func TestLookupEnvVar(t *testing.T) {
	t.Parallel()
	env := cfgVars("PORT", "1", "BUN_PORT", "2", "PORT", "3")
	if v, ok := LookupEnvVar(env, "PORT"); !ok || v != "3" {
		t.Errorf("LookupEnvVar(PORT) = %q, %v; want 3, true", v, ok)
	}
	if v, ok := LookupEnvVar(env, "port"); ok {
		t.Errorf("LookupEnvVar(port) = %q, true; want not found", v)
	}
}

// FuzzFlattenTOML holds that no input makes FlattenTOML panic, that the same
// input always flattens the same way, and that every variable it returns
// can live in a process environment.
func FuzzFlattenTOML(f *testing.F) {
	for _, name := range []string{"production.toml", "everything.toml", "invalid.toml"} {
		f.Add(cfgFixture(f, name))
	}
	for _, s := range []string{
		"", "a = 1", "[a.b]\nc = 1", "x = [[1], [2, [3]]]", "[[t]]\na = 1\n[[t]]\nb = 2",
		"t = {a = {b = [1.5, 1e300, -inf]}}", "d = 1979-05-27T07:32:00.123456789+01:00",
		"\"a.b\" = 'c'\n\"\" = 1", "a_b = 1\n[a]\nb = 2", "k = \"\"\"\nx\\\n  y\"\"\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err1 := FlattenTOML(data)
		second, err2 := FlattenTOML(data)
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("errors differ: %v, then %v", err1, err2)
		}
		if !slices.Equal(first, second) {
			t.Fatalf("output differs:\n%q\n%q", first, second)
		}
		seen := make(map[string]bool)
		for _, v := range first {
			if v.Key == "" || strings.ContainsAny(v.Key, "=\x00") || bytes.IndexByte([]byte(v.Value), 0) >= 0 {
				t.Fatalf("variable %q cannot be in an environment", v)
			}
			if seen[v.Key] {
				t.Fatalf("variable %q appears twice", v.Key)
			}
			seen[v.Key] = true
		}
	})
}

// FlattenTOML is flattenTOML with a syntax error as loadConfig reports it,
// without a file name.
func FlattenTOML(data []byte) ([]EnvVar, error) {
	vars, err := flattenTOML(data)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &configError{pe: pe}
		}
		return nil, fmt.Errorf("flatten toml: %w", err)
	}
	return vars, nil
}
