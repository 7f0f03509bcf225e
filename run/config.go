package run

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"bgrun/store"
)

// EnvVar is one environment variable. Configuration is kept as an ordered
// slice rather than a map so that `bgrun --env`, the stored record and the
// child's environment all list variables in the order the user wrote them.
type EnvVar struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// String returns the variable in the KEY=VALUE form of an environment list,
// because that is how users read it in messages and test failures.
func (v EnvVar) String() string { return v.Key + "=" + v.Value }

// loadConfig reads the TOML file at path and flattens it (see flattenTOML).
// A syntax error reads `production.toml:3:8: expected value but found '='
// instead` (file, line, column when known, the parser's message) so that
// editors and terminals can jump to it; it unwraps to the toml.ParseError. A missing file gives an error that matches
// os.ErrNotExist, so callers can skip an absent default `.config.toml`.
func loadConfig(path string) ([]EnvVar, error) {
	data, err := store.ReadSmall(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	vars, err := flattenTOML(data)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &configError{name: path, pe: pe}
		}
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return vars, nil
}

// configError is a TOML syntax error placed in its file. It exists so that
// the message leads with file:line:col, the form every editor understands,
// while errors.As still reaches the parser's toml.ParseError.
type configError struct {
	name string // File name; empty when FlattenTOML parsed bare bytes.
	pe   toml.ParseError
}

// Error returns "name:line:col: message", leaving the column out when the
// parser did not know it; without a file name it reads "toml: line L,
// column C: message".
func (e *configError) Error() string {
	if e.name == "" {
		if e.pe.Position.Col > 0 {
			return fmt.Sprintf("toml: line %d, column %d: %s", e.pe.Position.Line, e.pe.Position.Col, e.pe.Message)
		}
		return fmt.Sprintf("toml: line %d: %s", e.pe.Position.Line, e.pe.Message)
	}
	if e.pe.Position.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.name, e.pe.Position.Line, e.pe.Position.Col, e.pe.Message)
	}
	return fmt.Sprintf("%s:%d: %s", e.name, e.pe.Position.Line, e.pe.Message)
}

// Unwrap returns the parser's error so callers can inspect its position and
// usage text.
func (e *configError) Unwrap() error { return e.pe }

// flattenTOML parses a TOML document and flattens it into environment
// variables, the way the original bgrun turns `--config` files into a
// process environment.
//
// A variable's name is its key path joined with "_" and uppercased:
// [section] is the prefix and the key the suffix, nested and inline tables
// recurse ([a.b] c gives A_B_C), a dot inside a quoted key also becomes "_"
// ("dotted.key" gives DOTTED_KEY) and hyphens are kept (api-key gives
// API-KEY). An array appends the element's index (LIST_0, LIST_1; arrays of
// tables ITEMS_0_A; nested arrays T_0_0); an empty array or table gives
// nothing. Top-level keys have no prefix, so `BGR_GROUP = "prod"` gives
// BGR_GROUP.
//
// Values are written the way a shell user expects to read them: strings
// raw, booleans true/false, integers in decimal (hex, octal and binary
// converted, underscores dropped; the parser holds every 64-bit integer
// exactly and rejects larger ones), floats in their shortest exact form with
// no ".0" on an integral value (1.0 gives 1, 1e3 gives 1000, 3.14 stays
// 3.14; exponents from 1e21 up and below 1e-6, as JavaScript prints them, so
// values match the original), inf, -inf and nan as TOML spells them, offset
// datetimes in RFC 3339 and local dates, times and datetimes in their TOML
// form (2006-01-02, 15:04:05, 2006-01-02T15:04:05).
//
// Variables come out in document order. When two key paths flatten to the
// same name (a_b = 1 beside [a] b = 2) the later value wins and keeps the
// first one's place, as a later assignment to the same environment variable
// would. A name that is empty or holds "=" or NUL, or a value that holds
// NUL, is an error, because no environment can carry it.
//
// Its syntax errors are the parser's, so that loadConfig can name the file.
func flattenTOML(data []byte) ([]EnvVar, error) {
	var doc map[string]any
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		return nil, err
	}
	f := flattener{order: keyOrder(md)}
	if err := f.table(doc, nil, nil, ""); err != nil {
		return nil, err
	}
	return mergeEnv(f.vars), nil
}

// keyOrder maps each key path to the index of its first appearance in
// md.Keys(), which lists keys in document order. A path is spelled by
// appendName and appendIndex; a table reached only through dotted keys (d
// in d.e = 1) gets the index of its first descendant.
//
// md.Keys() names an element of an array of tables only by the array's
// path, repeated at each [[header]], so the walk counts those headers to
// tell elements apart. The count is kept per element path, so an array of
// tables nested in an element starts again at 0 in the next element.
func keyOrder(md toml.MetaData) map[string]int {
	order := make(map[string]int)
	counters := make(map[string]int)
	see := func(path string, i int) {
		if _, ok := order[path]; !ok {
			order[path] = i
		}
	}
	for i, key := range md.Keys() {
		var path string
		for n := range key {
			path = appendName(path, key[n])
			see(path, i)
			if md.Type(key[:n+1]...) != "ArrayHash" {
				continue
			}
			if n == len(key)-1 {
				// A [[header]] opens the next element of its array.
				idx, seen := counters[path]
				if seen {
					idx++
				}
				counters[path] = idx
			}
			path = appendIndex(path, counters[path])
			see(path, i)
		}
	}
	return order
}

// appendName adds one key name to an order path. Names are length-prefixed
// so that any key, even one holding separators, gives a distinct path.
func appendName(path, name string) string {
	return path + "/" + strconv.Itoa(len(name)) + ":" + name
}

// appendIndex adds an element index of an array of tables to an order path.
func appendIndex(path string, i int) string {
	return path + "#" + strconv.Itoa(i)
}

// flattener walks a decoded TOML document and collects variables.
type flattener struct {
	order map[string]int
	vars  []EnvVar
}

// table flattens every key of m under the variable-name prefix name. The
// order path follows md.Keys() spelling, which does not index inline arrays,
// so keys of tables inside inline arrays are ordered by their first
// appearance in any element.
func (f *flattener) table(m map[string]any, name []string, keyPath []string, orderPath string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	pos := func(k string) int {
		if i, ok := f.order[appendName(orderPath, k)]; ok {
			return i
		}
		return math.MaxInt
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(pos(a), pos(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		part := strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
		err := f.value(m[k], append(slices.Clip(name), part), append(slices.Clip(keyPath), k), appendName(orderPath, k))
		if err != nil {
			return err
		}
	}
	return nil
}

// value flattens one TOML value under the variable name built so far.
func (f *flattener) value(v any, name []string, keyPath []string, orderPath string) error {
	switch v := v.(type) {
	case map[string]any:
		return f.table(v, name, keyPath, orderPath)
	case []map[string]any:
		for i, elem := range v {
			idx := strconv.Itoa(i)
			if err := f.table(elem, append(slices.Clip(name), idx), append(slices.Clip(keyPath), idx), appendIndex(orderPath, i)); err != nil {
				return err
			}
		}
		return nil
	case []any:
		for i, elem := range v {
			idx := strconv.Itoa(i)
			if err := f.value(elem, append(slices.Clip(name), idx), append(slices.Clip(keyPath), idx), orderPath); err != nil {
				return err
			}
		}
		return nil
	}
	s, err := EnvValue(v)
	if err != nil {
		return fmt.Errorf("key %s: %w", strings.Join(keyPath, "."), err)
	}
	key := strings.Join(name, "_")
	switch {
	case key == "":
		return fmt.Errorf("key %q: an empty name cannot be an environment variable", strings.Join(keyPath, "."))
	case strings.ContainsAny(key, "=\x00"):
		return fmt.Errorf("key %q: variable name %q holds \"=\" or NUL, which an environment cannot carry", strings.Join(keyPath, "."), key)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("key %q: value holds a NUL byte, which an environment cannot carry", strings.Join(keyPath, "."))
	}
	f.vars = append(f.vars, EnvVar{Key: key, Value: s})
	return nil
}

// EnvValue formats a decoded TOML scalar as an environment value, as a
// config file (flattened) and a stack file's env table give it.
func EnvValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return formatTOMLFloat(v), nil
	case time.Time:
		return formatTOMLTime(v), nil
	}
	return "", fmt.Errorf("unsupported TOML value of type %T", v)
}

// formatTOMLFloat prints a float the way JavaScript's String(number) does,
// which is what the original bgrun wrote into environments: the shortest
// digits that read back as the same float, in plain notation for magnitudes
// from 1e-6 to below 1e21 and with an exponent outside that range, so 1.0
// prints 1 and 1e3 prints 1000. Infinities and NaN keep their TOML spelling;
// negative zero keeps its sign, since TOML wrote one.
func formatTOMLFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	sign := ""
	if f < 0 {
		sign = "-"
		f = -f
	}
	// The 'e' form with precision -1 gives the shortest round-trip digits as
	// d.ddddde±XX, which is rearranged below.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expText, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	k := len(digits)
	n := exp + 1 // Position of the decimal point relative to the digits.
	var out string
	switch {
	case k <= n && n <= 21:
		out = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		out = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		out = "0." + strings.Repeat("0", -n) + digits
	default:
		expSign := "+"
		if n-1 < 0 {
			expSign = "-"
		}
		m := digits[:1]
		if k > 1 {
			m += "." + digits[1:]
		}
		out = m + "e" + expSign + strconv.Itoa(max(n-1, 1-n))
	}
	return sign + out
}

// formatTOMLTime prints a TOML datetime. The parser marks local forms with
// its own time zones (named datetime-local, date-local and time-local);
// those print in the TOML form they came from, without an offset they never
// had, and every other value prints as RFC 3339.
func formatTOMLTime(t time.Time) string {
	switch t.Location().String() {
	case "datetime-local":
		return t.Format("2006-01-02T15:04:05.999999999")
	case "date-local":
		return t.Format("2006-01-02")
	case "time-local":
		return t.Format("15:04:05.999999999")
	}
	return t.Format(time.RFC3339Nano)
}

// mergeEnv overlays layers in order: a key in a later layer replaces the
// value from an earlier one but keeps the place where the key was first
// seen, so the listing order stays the order users first wrote their keys.
// Duplicate keys within one layer are merged the same way. Keys compare
// exactly (case-sensitive), as on Unix.
func mergeEnv(layers ...[]EnvVar) []EnvVar {
	n := 0
	for _, l := range layers {
		n += len(l)
	}
	out := make([]EnvVar, 0, n)
	index := make(map[string]int, n)
	for _, l := range layers {
		for _, v := range l {
			if i, ok := index[v.Key]; ok {
				out[i].Value = v.Value
				continue
			}
			index[v.Key] = len(out)
			out = append(out, v)
		}
	}
	return out
}

// envList returns the variables as "KEY=VALUE" strings, the form
// os/exec.Cmd.Env and os.Environ use.
func envList(vars []EnvVar) []string {
	out := make([]string, len(vars))
	for i, v := range vars {
		out[i] = v.Key + "=" + v.Value
	}
	return out
}

// EnvFromList turns "KEY=VALUE" strings, such as os.Environ(), into
// variables. The name ends at the first "=" after its first byte, because
// Windows keeps per-drive entries such as "=C:=C:\dir" whose name starts
// with "="; an entry without "=" is skipped, as the process environment
// cannot hold one.
func EnvFromList(list []string) []EnvVar {
	out := make([]EnvVar, 0, len(list))
	for _, kv := range list {
		if kv == "" {
			continue
		}
		i := strings.IndexByte(kv[1:], '=')
		if i < 0 {
			continue
		}
		out = append(out, EnvVar{Key: kv[:i+1], Value: kv[i+2:]})
	}
	return out
}

// LookupEnvVar returns the value of the last variable named key, the one
// that wins when the list becomes an environment, and whether there was one.
func LookupEnvVar(vars []EnvVar, key string) (string, bool) {
	for i := len(vars) - 1; i >= 0; i-- {
		if vars[i].Key == key {
			return vars[i].Value, true
		}
	}
	return "", false
}
