package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"bgrun/run"
)

// lookup finds a command by name or alias.
func lookup(word string) *command {
	for _, c := range commands {
		if c.name == word || contains(c.aliases, word) {
			return c
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// flagsOf returns the flags cmd takes: its own first, then the shared ones
// it names, then --db and --help.
func flagsOf(c *command) []flag {
	fs := append([]flag(nil), c.local...)
	for _, name := range strings.Fields(c.flags + " db help") {
		for _, f := range flagDefs {
			if f.name == name {
				fs = append(fs, f)
			}
		}
	}
	return fs
}

// findFlag finds the flag named by a command-line word ("--json", "-j")
// among fs.
func findFlag(fs []flag, word string) (flag, bool) {
	long := strings.HasPrefix(word, "--")
	name := strings.TrimLeft(word, "-")
	for _, f := range fs {
		if (long && f.name == name) || (!long && f.short != "" && f.short == name) {
			return f, true
		}
	}
	return flag{}, false
}

// parse reads a command line: a command word and its arguments, or one of
// the original's forms, mapped onto the same command.
func parse(args []string) (*invocation, error) {
	if len(args) > 0 {
		if c := lookup(args[0]); c != nil {
			return parseFor(c, args[1:])
		}
	}
	return parseLegacy(args)
}

// parseFor parses args against the flags of c.
func parseFor(c *command, args []string) (*invocation, error) {
	in := &invocation{cmd: c, vals: map[string]any{}}
	fs := flagsOf(c)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if !c.dash {
				return in, in.usagef("takes no command after --")
			}
			in.dash, in.rest = true, args[i+1:]
			break
		}
		if len(a) < 2 || a[0] != '-' {
			if c.argv {
				in.dash, in.rest = true, args[i:]
				break
			}
			in.args = append(in.args, a)
			continue
		}
		word, val, hasVal := strings.Cut(a, "=")
		f, ok := findFlag(fs, word)
		if !ok {
			return in, in.unknownFlag(word)
		}
		if f.name == "help" {
			return &invocation{cmd: lookup("help"), args: []string{c.name}, vals: map[string]any{}}, nil
		}
		if f.kind == boolKind {
			b := true
			if hasVal {
				var err error
				if b, err = strconv.ParseBool(val); err != nil {
					return in, in.usagef("--%s takes no value (got %q)", f.name, val)
				}
			}
			in.vals[f.name] = b
			continue
		}
		if !hasVal {
			if i+1 >= len(args) || isFlag(args[i+1]) {
				return in, in.usagef("flag --%s needs a value", f.name)
			}
			i++
			val = args[i]
		}
		v, err := checkValue(f.kind, val)
		if err != nil {
			return in, in.usagef("--%s %v", f.name, err)
		}
		switch old := in.vals[f.name].(type) {
		case []string:
			in.vals[f.name] = append(old, v.([]string)...)
		case nil:
			in.vals[f.name] = v
		default:
			return in, in.usagef("flag --%s given twice", f.name)
		}
	}
	if in.str("config") != "" && in.bool("no-config") {
		return in, in.usagef("--config and --no-config contradict each other")
	}
	min, max := c.args[0], c.args[1]
	switch {
	case len(in.args) < min:
		return in, in.usagef("needs %s", strings.Fields(c.usage + " ARG")[0])
	case max >= 0 && len(in.args) > max:
		return in, in.usagef("unexpected argument %q", in.args[max])
	}
	for _, a := range in.args {
		if _, err := checkValue(c.argKind, a); err != nil {
			return in, in.usagef("%s %v", strings.Trim(strings.Fields(c.usage)[0], "[]"), err)
		}
	}
	return in, nil
}

// unknownFlag explains a flag that c does not take: one that another
// command takes, or a misspelt one.
func (in *invocation) unknownFlag(word string) error {
	var names, owners []string
	for _, f := range flagsOf(in.cmd) {
		names = append(names, "--"+f.name)
	}
	for _, c := range commands {
		for _, l := range c.legacy {
			names = append(names, "--"+l.flag)
		}
		if _, ok := findFlag(flagsOf(c), word); ok && c != in.cmd && !c.hidden {
			owners = append(owners, c.name)
		}
	}
	if len(owners) > 0 {
		return in.usagef("takes no %s (%s %s)", word, strings.Join(owners, ", "), map[bool]string{true: "does", false: "do"}[len(owners) == 1])
	}
	if s := suggest(word, names); s != "" {
		return in.usagef("unknown flag %s; did you mean %s?", word, s)
	}
	return in.usagef("unknown flag %s", word)
}

// isFlag reports whether a is one of bgrun's flags, so `--name --force`
// reads as a missing name rather than a process called "--force".
func isFlag(a string) bool {
	if !strings.HasPrefix(a, "-") || a == "-" {
		return false
	}
	word, _, _ := strings.Cut(a, "=")
	if _, ok := findFlag(flagDefs, word); ok || a == "--" {
		return true
	}
	_, _, ok := findLegacy(word)
	return ok
}

// checkValue checks and converts a flag's value: the one check of each kind.
func checkValue(k kind, v string) (any, error) {
	switch k {
	case countKind:
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("wants a positive number, got %q", v)
		}
		return n, nil
	case sizeKind:
		return run.ParseSize(v)
	case readyKind:
		if _, err := run.ParseReady(v); err != nil {
			return nil, err
		}
		return v, nil
	case initKind:
		if !slices.Contains(run.InitSystems, v) {
			return nil, fmt.Errorf("wants an init system (%s), got %q", strings.Join(run.InitSystems, " or "), v)
		}
		return v, nil
	case portKind:
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("wants a port number (1-65535), got %q", v)
		}
		return n, nil
	case durKind:
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("wants a duration such as 10s, got %q", v)
		}
		return d, nil
	case listKind:
		return []string{v}, nil
	case csvKind:
		var l []string
		for _, p := range strings.Split(v, ",") {
			if p != "" {
				l = append(l, p)
			}
		}
		return l, nil
	}
	return v, nil
}

// findLegacy finds the command of one of the original's action flags.
func findLegacy(word string) (*command, legacy, bool) {
	long := strings.HasPrefix(word, "--")
	name := strings.TrimLeft(word, "-")
	for _, c := range commands {
		for _, l := range c.legacy {
			if (long && l.flag == name) || (!long && l.short != "" && l.short == name) {
				return c, l, true
			}
		}
	}
	return nil, legacy{}, false
}

// parseLegacy maps the original's forms onto the table: an action flag
// (`--stop api`, `api --logs`) picks its command and the other words are
// parsed as that command's; without one, `-- CMD`, --command or a start
// flag is run, a name is show, and nothing is ps. --help and --version are
// commands too.
func parseLegacy(args []string) (*invocation, error) {
	var c *command
	var act, weak string
	var weakCmd *command
	var rest, first, sets, names []string
	help := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		word, val, hasVal := strings.Cut(a, "=")
		if word == "--help" || word == "-h" {
			help = true
			continue
		}
		lc, l, ok := findLegacy(word)
		if !ok || !strings.HasPrefix(a, "-") {
			if f, ok := findFlag(flagDefs, word); ok && f.kind != boolKind && !hasVal && i+1 < len(args) && !isFlag(args[i+1]) {
				rest = append(rest, a, args[i+1]) // a value, never an action
				i++
				continue
			}
			if !strings.HasPrefix(a, "-") || a == "-" {
				names = append(names, a)
			}
			rest = append(rest, a)
			continue
		}
		if l.weak {
			weak, weakCmd = word, lc
		} else if c != nil && c != lc {
			return nil, usageError{"", fmt.Sprintf("%s and %s are two actions; give one", act, word)}
		} else {
			c, act = lc, word
		}
		switch {
		case l.value && !hasVal:
			if i+1 >= len(args) || isFlag(args[i+1]) {
				return nil, usageError{lc.name, fmt.Sprintf("flag %s needs a value", word)}
			}
			i++
			first = append(first, args[i])
		case hasVal:
			first = append(first, val)
		}
		if l.set != "" {
			sets = append(sets, "--"+l.set)
		}
	}
	pre, dashRest := rest, []string(nil)
	for i, a := range rest {
		if a == "--" {
			pre, dashRest = rest[:i], rest[i:]
			break
		}
	}
	if c == nil {
		c = impliedCommand(pre, len(names) > 0, dashRest != nil)
		if weakCmd != nil && c != lookup("run") {
			c = weakCmd
		} else if weakCmd != nil {
			sets = append(sets, weak) // --guard as a start flag
		}
	}
	if help {
		topic := []string{c.name}
		if act == "" && weak == "" {
			topic = nil // bgrun --help: the overview
		}
		return &invocation{cmd: lookup("help"), args: topic, vals: map[string]any{}}, nil
	}
	if (c.name == "ps" || c.name == "show") && len(names) > 1 {
		{
			if s := suggestCommand(names[0]); s != "" {
				return nil, usageError{"", fmt.Sprintf("unknown command %q; did you mean %q?", names[0], s)}
			}
			return nil, usageError{"", fmt.Sprintf("unexpected argument %q; to start a command give it with --command \"...\" or after --: bgrun -- %s",
				names[1], strings.Join(names, " "))}
		}
	}
	if c.name != "run" {
		var err error
		if pre, err = nameAsArg(pre); err != nil {
			return nil, err
		}
	}
	line := append(append(append(first, pre...), sets...), dashRest...)
	return parseFor(c, line)
}

// impliedCommand is the command of a line without an action flag.
func impliedCommand(pre []string, hasName, dash bool) *command {
	runc := lookup("run")
	if dash {
		return runc
	}
	for _, a := range pre {
		word, _, _ := strings.Cut(a, "=")
		f, ok := findFlag(flagDefs, word)
		switch {
		case !strings.HasPrefix(a, "-"):
		case ok && f.name == "name":
			hasName = true
		case ok && f.name != "db" && f.name != "timeout" && strings.Contains(" "+startFlags+" ", " "+f.name+" "):
			return runc
		}
	}
	if hasName {
		return lookup("show")
	}
	return lookup("ps")
}

// nameAsArg turns `--name NAME` into the argument NAME, for the commands
// that take the name as an argument (`bgrun --stop --name api`).
func nameAsArg(words []string) ([]string, error) {
	var out, names []string
	for i := 0; i < len(words); i++ {
		word, val, hasVal := strings.Cut(words[i], "=")
		if f, ok := findFlag(flagDefs, word); ok && f.name == "name" {
			if !hasVal {
				if i+1 >= len(words) || isFlag(words[i+1]) {
					return nil, usageError{"", "flag --name needs a value"}
				}
				i++
				val = words[i]
			}
			names = append(names, val)
			continue
		}
		out = append(out, words[i])
	}
	return append(names, out...), nil
}

// commandWords are the names and aliases of the commands a user types.
func commandWords() []string {
	var words []string
	for _, c := range commands {
		if !c.hidden {
			words = append(append(words, c.name), c.aliases...)
		}
	}
	return words
}

// suggestCommand returns the command a word of four letters or more was
// probably meant to be, or "": `bun` is no typo of run but a program.
func suggestCommand(word string) string {
	if len(word) < 4 {
		return ""
	}
	return suggest(word, commandWords())
}

// suggest returns the candidate nearest to word within a small edit
// distance (one for short words, two for longer ones), or "".
func suggest(word string, candidates []string) string {
	best, bestD := "", 2
	if len(strings.TrimLeft(word, "-")) > 5 {
		bestD = 3
	}
	for _, c := range candidates {
		if d := distance(word, c); d < bestD && c != word {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, counting a swap of two
// neighbours as one edit (stpo is one from stop).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
