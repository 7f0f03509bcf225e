package run

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"bgrun/store"
)

// ErrUnknownShell is wrapped by RenderEnv's error for a shell it cannot
// render, so that the caller can report a usage error (exit 2) rather than a
// failure.
var ErrUnknownShell = store.Errorf(store.KindBadInput, "unknown shell")

// envShells lists the shells renderEnv accepts, for the error message.
const envShells = "sh, bash, zsh, fish, powershell, pwsh, cmd, json"

// renderEnv renders variables for `bgrun --env --shell SHELL` so that
// evaluating the output in that shell sets exactly these values, whatever
// bytes they hold: quotes, blanks, $, backticks, backslashes, newlines and
// unicode. Each form quotes with the shell's literal (single-quote) string,
// where nothing is expanded, so only the quote itself needs escaping:
//
//	sh, bash, zsh      export KEY='value'      ' becomes '\''
//	fish               set -gx KEY 'value'     \ becomes \\ and ' becomes \'
//	powershell, pwsh   $env:KEY = 'value'      ' becomes '' (also the curly
//	                                           quotes PowerShell treats as ')
//	cmd                set "KEY=value"         % becomes %% (see below)
//	json               an object, 2-space indented, in order
//
// Shell names are case-insensitive; any other name gives an error wrapping
// ErrUnknownShell that lists the valid ones. A duplicate key renders once,
// with its last value, as mergeEnv would merge it.
//
// Keys must be names the shell can assign: [A-Za-z_][A-Za-z0-9_]* for sh,
// fish and PowerShell, also "." and "-" after the first byte for cmd
// (where API-KEY is fine), anything but "" for json. A key or value holding
// NUL is refused everywhere, since no environment can carry it.
//
// cmd has no literal string: its output, with CRLF line ends, is meant for
// a batch file (`bgrun --env --shell cmd > env.cmd` then `call env.cmd`),
// where %% reads back as %. It cannot carry a newline or carriage return,
// nor a double quote (inside set "..." a quote cannot be escaped and would
// expose & | < > to the parser), so such values are an error; "!" is
// literal unless delayed expansion is on. In PowerShell, assigning an empty
// string removes the variable, so an empty value comes back unset. json
// refuses values that are not valid UTF-8, since JSON would silently
// replace those bytes.
func renderEnv(vars []EnvVar, shell string) (string, error) {
	vars = mergeEnv(vars)
	var line func(EnvVar) (string, error)
	switch strings.ToLower(shell) {
	case "sh", "bash", "zsh":
		line = func(v EnvVar) (string, error) {
			return "export " + v.Key + "='" + strings.ReplaceAll(v.Value, "'", `'\''`) + "'\n", nil
		}
	case "fish":
		line = func(v EnvVar) (string, error) {
			return "set -gx " + v.Key + " '" + fishQuoter.Replace(v.Value) + "'\n", nil
		}
	case "powershell", "pwsh":
		line = func(v EnvVar) (string, error) {
			return "$env:" + v.Key + " = '" + powershellQuoter.Replace(v.Value) + "'\n", nil
		}
	case "cmd":
		line = cmdLine
	case "json":
		return renderEnvJSON(vars)
	default:
		return "", fmt.Errorf("%w %q (valid: %s)", ErrUnknownShell, shell, envShells)
	}
	cmd := strings.EqualFold(shell, "cmd")
	var b strings.Builder
	for _, v := range vars {
		if !isShellName(v.Key, cmd) {
			return "", fmt.Errorf("render env for %s: %q is not a valid variable name there", shell, v.Key)
		}
		if strings.IndexByte(v.Value, 0) >= 0 {
			return "", fmt.Errorf("render env for %s: value of %s holds a NUL byte, which an environment cannot carry", shell, v.Key)
		}
		s, err := line(v)
		if err != nil {
			return "", fmt.Errorf("render env for %s: %w", shell, err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// fishQuoter escapes the only two characters that are special inside a
// fish single-quoted string.
var fishQuoter = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

// powershellQuoter doubles quotes inside a PowerShell single-quoted string.
// PowerShell also ends such a string at the curly single quotes U+2018,
// U+2019, U+201A and U+201B, so those are doubled too.
var powershellQuoter = strings.NewReplacer(
	"'", "''",
	"\u2018", "\u2018\u2018",
	"\u2019", "\u2019\u2019",
	"\u201a", "\u201a\u201a",
	"\u201b", "\u201b\u201b",
)

// cmdLine renders one variable for a cmd batch file, refusing what cmd
// cannot carry (see renderEnv).
func cmdLine(v EnvVar) (string, error) {
	if strings.ContainsAny(v.Value, "\r\n") {
		return "", fmt.Errorf("value of %s holds a newline, which cmd cannot carry", v.Key)
	}
	if strings.Contains(v.Value, `"`) {
		return "", fmt.Errorf("value of %s holds a double quote, which cmd cannot carry in set \"KEY=value\"", v.Key)
	}
	return `set "` + v.Key + "=" + strings.ReplaceAll(v.Value, "%", "%%") + "\"\r\n", nil
}

// isShellName reports whether key can be assigned by name in the shell:
// [A-Za-z_][A-Za-z0-9_]*, with "." and "-" also allowed after the first
// byte for cmd.
func isShellName(key string, cmd bool) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z':
		case i > 0 && '0' <= c && c <= '9':
		case i > 0 && cmd && (c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// renderEnvJSON renders the variables as one JSON object. It is written by
// hand because a Go map would lose the order; HTML escaping is off so a
// value such as a&b reads as written.
func renderEnvJSON(vars []EnvVar) (string, error) {
	if len(vars) == 0 {
		return "{}\n", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteString("{\n")
	for i, v := range vars {
		switch {
		case v.Key == "":
			return "", errors.New("render env for json: an empty name is not a variable")
		case !utf8.ValidString(v.Key) || !utf8.ValidString(v.Value):
			return "", fmt.Errorf("render env for json: %q holds bytes that are not UTF-8, which JSON cannot carry", v.Key)
		case strings.IndexByte(v.Key, 0) >= 0 || strings.IndexByte(v.Value, 0) >= 0:
			return "", fmt.Errorf("render env for json: %q holds a NUL byte, which an environment cannot carry", v.Key)
		}
		b.WriteString("  ")
		if err := enc.Encode(v.Key); err != nil {
			return "", fmt.Errorf("render env for json: %w", err)
		}
		b.Truncate(b.Len() - 1) // Encode ends with a newline.
		b.WriteString(": ")
		if err := enc.Encode(v.Value); err != nil {
			return "", fmt.Errorf("render env for json: %w", err)
		}
		b.Truncate(b.Len() - 1)
		if i < len(vars)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.String(), nil
}
