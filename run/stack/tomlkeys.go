package stack

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// keyLines maps every key a TOML document writes, tables included, to the
// line that first writes it. The TOML parser keeps key positions to itself,
// and messages about a stack file must name the line, so this small scanner
// walks the text (already known to be valid TOML) and notes where each
// key starts. A key is spelled as its parts joined with NUL. Keys inside
// inline tables are not noted; they are reported at the inline table's key.
func keyLines(src string) map[string]int {
	lines := map[string]int{}
	note := func(parts []string, line int) {
		for i := range parts {
			k := strings.Join(parts[:i+1], "\x00")
			if _, ok := lines[k]; !ok {
				lines[k] = line
			}
		}
	}
	var table []string
	line, i := 1, 0
	for i < len(src) {
		switch c := src[i]; {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\n':
			line++
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '[':
			i++
			if i < len(src) && src[i] == '[' {
				i++
			}
			parts, n := splitKey(src[i:])
			i += n
			table = parts
			note(table, line)
			for i < len(src) && src[i] != '\n' {
				i++
			}
		default:
			parts, n := splitKey(src[i:])
			if n == 0 {
				// Not a key: skip the line rather than loop.
				for i < len(src) && src[i] != '\n' {
					i++
				}
				continue
			}
			i += n
			note(append(append([]string{}, table...), parts...), line)
			if i < len(src) && src[i] == '=' {
				i++
			}
			i, line = skipValue(src, i, line)
		}
	}
	return lines
}

// splitKey reads a dotted key (bare, "basic" or 'literal' parts) from the
// start of s, up to the '=' or ']' that ends it, and returns its parts and
// how many bytes it took (the '=' or ']' not included).
func splitKey(s string) ([]string, int) {
	var parts []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return parts, i
		}
		switch s[i] {
		case '"':
			j := i + 1
			for j < len(s) && s[j] != '"' && s[j] != '\n' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			raw := s[i:min(j+1, len(s))]
			v, err := strconv.Unquote(raw)
			if err != nil {
				v = strings.Trim(raw, `"`)
			}
			parts = append(parts, v)
			i = j + 1
		case '\'':
			j := strings.IndexAny(s[i+1:], "'\n")
			if j < 0 {
				return parts, len(s)
			}
			parts = append(parts, s[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(s) && isBare(s[j]) {
				j++
			}
			if j == i {
				return parts, i
			}
			parts = append(parts, s[i:j])
			i = j
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i < len(s) && s[i] == '.' {
			i++
			continue
		}
		return parts, min(i, len(s))
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// skipValue moves past the value that starts at i, through strings, arrays
// and inline tables that may span lines, to the end of its line. It returns
// the new position and line number.
func skipValue(src string, i, line int) (int, int) {
	depth := 0
	for i < len(src) {
		c := src[i]
		switch {
		case strings.HasPrefix(src[i:], `"""`) || strings.HasPrefix(src[i:], `'''`):
			delim := src[i : i+3]
			i += 3
			for i < len(src) && !strings.HasPrefix(src[i:], delim) {
				if src[i] == '\\' && delim == `"""` {
					i++
				}
				if i < len(src) && src[i] == '\n' {
					line++
				}
				i++
			}
			i += 3
			// A closing delimiter may be followed by up to two more quotes.
			for n := 0; n < 2 && i < len(src) && src[i] == delim[0]; n++ {
				i++
			}
		case c == '"':
			i++
			for i < len(src) && src[i] != '"' && src[i] != '\n' {
				if src[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case c == '\'':
			i++
			for i < len(src) && src[i] != '\'' && src[i] != '\n' {
				i++
			}
			i++
		case c == '[' || c == '{':
			depth++
			i++
		case c == ']' || c == '}':
			depth--
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\n':
			line++
			i++
			if depth <= 0 {
				return i, line
			}
		default:
			i++
		}
	}
	return min(i, len(src)), line
}

// tomlQuote writes s as a TOML basic string.
func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case utf8.RuneError:
			b.WriteString(`\uFFFD`)
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteString(`\u00`)
				b.WriteString(strconv.FormatInt(int64(r)>>4, 16))
				b.WriteString(strconv.FormatInt(int64(r)&15, 16))
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
