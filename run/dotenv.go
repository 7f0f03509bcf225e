package run

import (
	"fmt"
	"strings"

	"bgrun/store"
)

// parseDotenv parses the text of a .env file into variables in file order;
// name is used only in error messages, which read `.env:4: invalid line
// "..."`.
//
// The format is the common subset that docker compose, dotenv libraries
// and shells agree on:
//
//   - KEY=VALUE, one per line; an optional `export ` prefix is allowed so a
//     file can also be sourced by sh; blank lines and lines starting with #
//     are skipped; spaces around = are ignored.
//   - Keys match [A-Za-z_][A-Za-z0-9_.]*.
//   - An unquoted value is trimmed and ends at an inline comment, a # that
//     follows a space or tab (so KEY=a#b keeps its #).
//   - A 'single-quoted' value is literal.
//   - A "double-quoted" value understands \n \t \r \" \\ and \$; any other
//     backslash is kept as written, so Windows paths survive.
//   - Quoted values may span lines; after the closing quote only blanks and
//     a # comment may follow.
//
// Line ends are normalized (CRLF to LF) and a UTF-8 byte-order mark is
// skipped, so files edited on Windows read the same. A key given twice
// keeps the later value in the first place, like mergeEnv.
//
// Values are never expanded ($VAR, ${VAR}, $(cmd)): a value means what the
// file says, whatever environment bgrun itself runs in, so the same file
// gives the same stored record from a terminal, a supervisor or the
// dashboard, and a "$" in a password needs no escaping. A command that
// wants expansion gets it from `sh -c` at run time.
func parseDotenv(name string, data []byte) ([]EnvVar, error) {
	src := strings.ReplaceAll(string(data), "\r\n", "\n")
	src = strings.TrimPrefix(src, "\ufeff")
	p := dotenvParser{name: name, src: src, line: 1}
	var vars []EnvVar
	for p.pos < len(p.src) {
		v, ok, err := p.next()
		if err != nil {
			return nil, err
		}
		if ok {
			vars = append(vars, v)
		}
	}
	return mergeEnv(vars), nil
}

// loadDotenv reads the .env file at path and parses it with parseDotenv. A
// missing file gives an error that matches os.ErrNotExist.
func loadDotenv(path string) ([]EnvVar, error) {
	data, err := store.ReadSmall(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("load dotenv: %w", err)
	}
	return parseDotenv(path, data)
}

// dotenvParser holds the position in a .env text; a quoted value may run
// over several lines, so the parser works on the whole text rather than on
// pre-split lines.
type dotenvParser struct {
	name string
	src  string
	pos  int // Byte offset of the start of the current line.
	line int // Line number of pos, from 1.
}

// lineEnd returns the offset of the newline ending the line that holds
// offset i, or len(src) on the last line.
func (p *dotenvParser) lineEnd(i int) int {
	if j := strings.IndexByte(p.src[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(p.src)
}

// advance moves to the line after the one holding offset end.
func (p *dotenvParser) advance(end int) {
	p.line += strings.Count(p.src[p.pos:end], "\n") + 1
	p.pos = end + 1
}

// invalid reports the current line as malformed, quoting it so invisible
// characters show.
func (p *dotenvParser) invalid(text, why string) error {
	return fmt.Errorf("%s:%d: invalid line %q: %s", p.name, p.line, text, why)
}

// next parses the line at p.pos (and, for a quoted value, the lines it
// spans); ok is false for a blank or comment line.
func (p *dotenvParser) next() (v EnvVar, ok bool, err error) {
	end := p.lineEnd(p.pos)
	raw := p.src[p.pos:end]
	rest := strings.TrimLeft(raw, " \t")
	if rest == "" || rest[0] == '#' {
		p.advance(end)
		return EnvVar{}, false, nil
	}
	if after, found := strings.CutPrefix(rest, "export"); found && after != "" && (after[0] == ' ' || after[0] == '\t') {
		rest = strings.TrimLeft(after, " \t")
	}
	n := 0
	for n < len(rest) && isDotenvKeyByte(rest[n], n == 0) {
		n++
	}
	key := rest[:n]
	rest = strings.TrimLeft(rest[n:], " \t")
	if key == "" || rest == "" || rest[0] != '=' {
		if strings.Contains(raw, "=") {
			return EnvVar{}, false, p.invalid(raw, "a key is [A-Za-z_][A-Za-z0-9_.]*")
		}
		return EnvVar{}, false, p.invalid(raw, "want KEY=VALUE")
	}
	val := rest[1:]
	// valStart is the offset in src of val, needed when a quote runs past
	// this line.
	valStart := end - len(val)
	trimmed := strings.TrimLeft(val, " \t")
	var value string
	if trimmed != "" && (trimmed[0] == '\'' || trimmed[0] == '"') {
		open := valStart + len(val) - len(trimmed)
		var close int
		value, close, err = p.quoted(open, key)
		if err != nil {
			return EnvVar{}, false, err
		}
		end = p.lineEnd(close)
		tail := strings.TrimLeft(p.src[close+1:end], " \t")
		if tail != "" && tail[0] != '#' {
			closeLine := p.line + strings.Count(p.src[p.pos:close], "\n")
			text := p.src[strings.LastIndexByte(p.src[:close], '\n')+1 : end]
			return EnvVar{}, false, fmt.Errorf("%s:%d: invalid line %q: only a # comment may follow the closing quote", p.name, closeLine, text)
		}
	} else {
		value = unquotedDotenvValue(val)
	}
	if strings.IndexByte(value, 0) >= 0 {
		return EnvVar{}, false, fmt.Errorf("%s:%d: value of %s holds a NUL byte, which an environment cannot carry", p.name, p.line, key)
	}
	p.advance(end)
	return EnvVar{Key: key, Value: value}, true, nil
}

// quoted decodes the quoted value whose opening quote is at offset open and
// returns it with the offset of the closing quote.
func (p *dotenvParser) quoted(open int, key string) (string, int, error) {
	q := p.src[open]
	if q == '\'' {
		i := strings.IndexByte(p.src[open+1:], '\'')
		if i < 0 {
			return "", 0, fmt.Errorf("%s:%d: value of %s: single quote opened here is never closed", p.name, p.line, key)
		}
		return p.src[open+1 : open+1+i], open + 1 + i, nil
	}
	var b strings.Builder
	for i := open + 1; i < len(p.src); i++ {
		c := p.src[i]
		switch {
		case c == '"':
			return b.String(), i, nil
		case c == '\\' && i+1 < len(p.src):
			i++
			switch e := p.src[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\', '$':
				b.WriteByte(e)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("%s:%d: value of %s: double quote opened here is never closed", p.name, p.line, key)
}

// unquotedDotenvValue trims an unquoted value and cuts it at an inline
// comment: a # after a space or tab, so "KEY= # note" is empty. A # glued to
// text stays (KEY=#fff, KEY=a#b), since colors and URL fragments hold one.
func unquotedDotenvValue(v string) string {
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			v = v[:i]
			break
		}
	}
	return strings.Trim(v, " \t")
}

// isDotenvKeyByte reports whether c may appear in a .env key at the start
// (first) or later.
func isDotenvKeyByte(c byte, first bool) bool {
	switch {
	case c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z':
		return true
	case c == '.' || '0' <= c && c <= '9':
		return !first
	}
	return false
}
