package run

import (
	"strings"

	"bgrun/store"
)

// shellOnly are words that name no program but a shell keyword or builtin
// that works only inside the shell: `exec` of them would fail or change
// meaning, so a command starting with one keeps its shell.
var shellOnly = map[string]bool{
	"!": true, "{": true, "}": true, "[[": true, "case": true, "do": true, "done": true, "elif": true,
	"else": true, "esac": true, "fi": true, "for": true, "function": true, "if": true, "in": true,
	"select": true, "then": true, "time": true, "until": true, "while": true,
	".": true, ":": true, "alias": true, "bg": true, "break": true, "cd": true, "continue": true,
	"eval": true, "exit": true, "export": true, "fg": true, "jobs": true, "local": true, "read": true,
	"readonly": true, "return": true, "set": true, "shift": true, "source": true, "trap": true,
	"ulimit": true, "umask": true, "unset": true, "wait": true, "command": true, "builtin": true,
}

// simple splits a shell command line into its leading variable assignments
// and the rest, and reports whether it is a simple command: one program
// with its arguments, which `exec` can run in place of the shell so that the
// pid bgrun records is the program's. Quotes, escapes, $VAR, ${VAR} and
// globs are fine (the shell still expands them); a list or pipeline (; & &&
// || | newline), a redirection (< >), a subshell or group ( ) { }, a
// command substitution $( ) or backticks, a comment, a keyword or builtin
// in first place, or anything the lexer cannot read keeps the shell.
// alreadyExec is true when the command starts with exec itself.
func simple(command string) (assigns, rest string, ok, alreadyExec bool) {
	words, ok := lexWords(command)
	if !ok || len(words) == 0 {
		return "", command, false, false
	}
	i := 0
	for i < len(words) && isAssignment(words[i].text) {
		i++
	}
	if i == len(words) {
		return "", command, false, false // assignments alone
	}
	first := words[i]
	if !first.quoted && first.text == "exec" {
		return "", command, false, true
	}
	if !first.quoted && shellOnly[first.text] {
		return "", command, false, false
	}
	if strings.ContainsAny(first.text, "=") && !first.quoted {
		return "", command, false, false
	}
	cut := first.start
	return strings.TrimSpace(command[:cut]), command[cut:], true, false
}

// execCommand is what sh -c gets for command, and what leads it: `exec`
// before a simple command's program (after its assignments), so the shell
// becomes the program; anything else as given, led by the shell.
func execCommand(command string) (string, string) {
	assigns, rest, ok, already := simple(command)
	switch {
	case already:
		return command, store.LeaderProgram
	case !ok:
		return command, store.LeaderShell
	case assigns != "":
		return assigns + " exec " + rest, store.LeaderProgram
	}
	return "exec " + rest, store.LeaderProgram
}

type word struct {
	text   string // the word as written, quotes included
	start  int    // its offset in the command line
	quoted bool   // some of it was quoted or escaped
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, c := range name {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// lexWords splits a command line into words the way sh does, and fails on
// anything that makes it more than a simple command.
func lexWords(s string) ([]word, bool) {
	var words []word
	var cur strings.Builder
	start, in, quoted := 0, false, false
	end := func() {
		if in {
			words = append(words, word{text: cur.String(), start: start, quoted: quoted})
		}
		cur.Reset()
		in, quoted = false, false
	}
	begin := func(i int) {
		if !in {
			in, start = true, i
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			end()
		case c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' || c == '>' || c == '(' || c == ')' || c == '`':
			return nil, false
		case c == '#' && !in:
			return nil, false // a comment; rare enough to leave to the shell
		case c == '\\':
			if i+1 >= len(s) || s[i+1] == '\n' {
				return nil, false
			}
			begin(i)
			quoted = true
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			begin(i)
			quoted = true
			cur.WriteString(s[i : i+j+2])
			i += j + 1
		case c == '"':
			begin(i)
			quoted = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				switch {
				case s[j] == '\\':
					j++
				case s[j] == '`', s[j] == '$' && j+1 < len(s) && s[j+1] == '(':
					return nil, false
				}
			}
			if j >= len(s) {
				return nil, false
			}
			cur.WriteString(s[i : j+1])
			i = j
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			return nil, false
		default:
			begin(i)
			cur.WriteByte(c)
		}
	}
	end()
	return words, true
}
