package docker

import (
	"errors"
	"fmt"
	"strings"
)

// token is one lexical unit of a shell command: a word after quote removal, or an
// operator. end is the byte offset just past the token in the source, which Label
// needs to insert text into the command exactly as the user wrote it.
type token struct {
	word string
	op   string
	end  int
}

// errUnterminated reports a quote or substitution that the command never closes; sh
// would refuse such a command, so Parse does not guess what it means.
var errUnterminated = errors.New("unterminated quote")

// lex splits a command into words and operators by the POSIX shell rules that matter
// for finding a program and its arguments: blanks separate words; single quotes,
// double quotes and backslashes quote; ; & | ( ) and newlines separate commands;
// < and > (with an optional file-descriptor number) start redirections; # starts a
// comment. Parameter expansions and command substitutions are kept as literal text,
// since their values are unknown until the shell runs.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i += 2
		case c == '\n':
			i++
			toks = append(toks, token{op: ";", end: i})
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case isOpByte(c):
			op := readOp(s, i)
			i += len(op)
			toks = append(toks, token{op: op, end: i})
		default:
			t, next, err := lexWord(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = next
		}
	}
	return toks, nil
}

// isOpByte reports whether c starts an operator when it appears unquoted.
func isOpByte(c byte) bool {
	return c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>'
}

// readOp returns the longest operator at s[i:].
func readOp(s string, i int) string {
	for _, op := range []string{"&&", "||", ";;", "<<-", "<<", ">>", "<&", ">&", "<>", ">|"} {
		if strings.HasPrefix(s[i:], op) {
			return op
		}
	}
	return s[i : i+1]
}

// isRedirect reports whether an operator token is a redirection, whose next word is a
// file name rather than an argument of the command.
func isRedirect(op string) bool {
	return strings.ContainsAny(op, "<>")
}

// lexWord reads one word starting at s[i] and returns it with the offset after it. A
// word made only of digits and followed by < or > is a file-descriptor number, so it
// is returned as part of a redirection operator, as sh does with 2>&1.
func lexWord(s string, i int) (token, int, error) {
	var b strings.Builder
	start := i
	quoted := false
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			return token{word: b.String(), end: i}, i, nil
		case c == '<' || c == '>':
			if !quoted && isDigits(s[start:i]) {
				op := readOp(s, i)
				return token{op: s[start:i] + op, end: i + len(op)}, i + len(op), nil
			}
			return token{word: b.String(), end: i}, i, nil
		case isOpByte(c):
			return token{word: b.String(), end: i}, i, nil
		case c == '\\':
			switch {
			case i+1 >= len(s):
				// sh keeps a backslash at the very end as a literal character.
				b.WriteByte('\\')
				i++
			case s[i+1] == '\n':
				i += 2
			default:
				b.WriteByte(s[i+1])
				i += 2
				quoted = true
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return token{}, 0, fmt.Errorf("single quote at byte %d: %w", i, errUnterminated)
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 2
			quoted = true
		case c == '"':
			next, err := lexDouble(s, i+1, &b)
			if err != nil {
				return token{}, 0, err
			}
			i = next
			quoted = true
		case c == '$' || c == '`':
			next, err := skipExpansion(s, i)
			if err != nil {
				return token{}, 0, err
			}
			b.WriteString(s[i:next])
			i = next
		default:
			b.WriteByte(c)
			i++
		}
	}
	return token{word: b.String(), end: i}, i, nil
}

// lexDouble reads the inside of a double-quoted string starting after its opening
// quote, writes the quote-removed text to b and returns the offset after the closing
// quote. Inside double quotes a backslash quotes only $ ` " \ and newline.
func lexDouble(s string, i int, b *strings.Builder) (int, error) {
	open := i - 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\' && i+1 < len(s):
			switch s[i+1] {
			case '$', '`', '"', '\\':
				b.WriteByte(s[i+1])
			case '\n':
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i+1])
			}
			i += 2
		case c == '$' || c == '`':
			next, err := skipExpansion(s, i)
			if err != nil {
				return 0, err
			}
			b.WriteString(s[i:next])
			i = next
		default:
			b.WriteByte(c)
			i++
		}
	}
	return 0, fmt.Errorf("double quote at byte %d: %w", open, errUnterminated)
}

// skipExpansion returns the offset after a $(...), $((...)), ${...} or `...` that starts
// at s[i], or i+1 for a plain $. The contents may hold blanks and quotes that must not
// split the word, so they are skipped as a unit, counting nested parentheses and braces
// and jumping over quoted parts.
func skipExpansion(s string, i int) (int, error) {
	if s[i] == '`' {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '`':
				return j + 1, nil
			}
		}
		return 0, fmt.Errorf("backquote at byte %d: %w", i, errUnterminated)
	}
	if i+1 >= len(s) || (s[i+1] != '(' && s[i+1] != '{') {
		return i + 1, nil
	}
	open, closing := s[i+1], byte(')')
	if open == '{' {
		closing = '}'
	}
	depth := 0
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; c {
		case '\\':
			j++
		case '\'':
			k := strings.IndexByte(s[j+1:], '\'')
			if k < 0 {
				return 0, fmt.Errorf("single quote at byte %d: %w", j, errUnterminated)
			}
			j += k + 1
		case '"':
			var discard strings.Builder
			next, err := lexDouble(s, j+1, &discard)
			if err != nil {
				return 0, err
			}
			j = next - 1
		case open:
			depth++
		case closing:
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("expansion at byte %d: %w", i, errUnterminated)
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// simpleCommand is one command of a shell list: its words, and for each word the byte
// offset just past it in the source.
type simpleCommand struct {
	words []string
	ends  []int
}

// splitCommands groups tokens into simple commands, dropping operators and the targets
// of redirections, so that `cd app && docker run x >log 2>&1` yields `cd app` and
// `docker run x`.
func splitCommands(toks []token) []simpleCommand {
	var cmds []simpleCommand
	var cur simpleCommand
	flush := func() {
		if len(cur.words) > 0 {
			cmds = append(cmds, cur)
		}
		cur = simpleCommand{}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.op == "":
			cur.words = append(cur.words, t.word)
			cur.ends = append(cur.ends, t.end)
		case isRedirect(t.op):
			// The word after a redirection names its file; `>&2` and `2>&1` name a
			// descriptor in the same way.
			if i+1 < len(toks) && toks[i+1].op == "" {
				i++
			}
		default:
			flush()
		}
	}
	flush()
	return cmds
}

// shellQuote returns s as one shell word: unchanged when it holds only characters
// that no shell treats specially, otherwise in single quotes.
func shellQuote(s string) string {
	safe := s != ""
	for i := 0; i < len(s) && safe; i++ {
		c := s[i]
		safe = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("_-.,:/@%+=", c) >= 0
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
