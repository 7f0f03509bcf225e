package docker

import (
	"path"
	"strings"
)

// labelKey is the container label that Label adds to a `docker run` without --name, so
// that the container of a record can be found again without guessing from its image.
const labelKey = "bgrun.name"

// Spec is what Parse learns from a docker command.
type Spec struct {
	// Name is the --name of a docker run, or the -p project name of a compose command.
	Name string
	// Detached is true for -d / --detach, of docker run or of compose up.
	Detached bool
	// Remove is true for --rm: the container disappears when it stops.
	Remove bool
	// Compose is true for `docker compose up` and `docker-compose up`.
	Compose bool
	// Image is the image of a docker run.
	Image string
	// Args are the words after the image of a docker run (the container's command), or
	// the services named after compose up.
	Args []string
	// LabelName is the value of a bgrun.name label given on the command line, as Label
	// adds it; "" when there is none.
	LabelName string
	// Program is "docker" or "docker-compose", the program that runs the command.
	Program string
	// ComposeArgs are the words between the program and `up` of a compose command, such
	// as ["compose", "-f", "dev.yml"], so that stop and logs reach the same project.
	ComposeArgs []string
	// ProjectDir is the compose project directory as written: --project-directory, or
	// the directory of the first -f file; "" means the working directory.
	ProjectDir string

	// runEnd is the byte offset just past the `run` word, where Label inserts its flag.
	runEnd int
}

// IsDocker reports whether command runs a Docker container as its program: `docker
// run`, `docker container run`, `docker compose up` or `docker-compose up`, possibly
// after sudo, exec, env or variable assignments, in any command of a shell list. It
// is true exactly when Parse succeeds.
func IsDocker(command string) bool {
	_, ok := Parse(command)
	return ok
}

// Parse splits command into shell words and reads the first docker run or compose up
// in it. ok is false when the command runs no container, when a docker run names no
// image, and when the command cannot be split (an unterminated quote), since sh would
// refuse it too.
func Parse(command string) (Spec, bool) {
	toks, err := lex(command)
	if err != nil {
		return Spec{}, false
	}
	for _, c := range splitCommands(toks) {
		if spec, ok := parseSimple(c); ok {
			return spec, true
		}
	}
	return Spec{}, false
}

// Label returns command with `--label bgrun.name=<record>` inserted right after its
// `docker run` when the run has neither --name nor a bgrun.name label, so that Status,
// Stop, Remove and Logs can always find the container; otherwise, and for compose and
// non-docker commands, it returns command unchanged. Applying it twice changes nothing
// more. The record name is shell-quoted when it needs to be.
func Label(command, record string) string {
	spec, ok := Parse(command)
	if !ok || spec.Compose || spec.Name != "" || spec.LabelName != "" || record == "" {
		return command
	}
	flag := " --label " + shellQuote(labelKey+"="+record)
	return command[:spec.runEnd] + flag + command[spec.runEnd:]
}

// parseSimple reads one simple command; ok is false when it runs no container.
func parseSimple(c simpleCommand) (Spec, bool) {
	i := skipPrefix(c.words)
	if i >= len(c.words) {
		return Spec{}, false
	}
	switch programName(c.words[i]) {
	case "docker":
		return parseDocker(c, i+1)
	case "docker-compose":
		spec, ok := parseCompose(c.words, i+1, nil)
		spec.Program = "docker-compose"
		return spec, ok
	}
	return Spec{}, false
}

// programName returns the base name of a program word without a .exe suffix, so that
// /usr/bin/docker and docker.exe count as docker.
func programName(w string) string {
	w = path.Base(strings.ReplaceAll(w, `\`, "/"))
	if len(w) > 4 && strings.EqualFold(w[len(w)-4:], ".exe") {
		w = w[:len(w)-4]
	}
	return w
}

// wrappers are commands that run their arguments as a command, with the options of
// each that take a value, so that `sudo -u me docker run x` is seen as docker run.
var wrappers = map[string]string{
	"sudo":    "ugCDhprtUTR",
	"doas":    "uC",
	"env":     "uCS",
	"exec":    "a",
	"nohup":   "",
	"command": "",
	"time":    "",
	"nice":    "n",
	"setsid":  "",
	"timeout": "sk",
	"stdbuf":  "ioe",
}

// reserved are shell words that may start a simple command without being its program.
var reserved = map[string]bool{
	"!": true, "{": true, "}": true, "if": true, "then": true, "else": true, "elif": true,
	"do": true, "while": true, "until": true,
}

// skipPrefix returns the index of the program word of a simple command, after
// variable assignments, reserved words and wrapper commands with their options.
func skipPrefix(words []string) int {
	i := 0
	for i < len(words) {
		w := words[i]
		if isAssignment(w) || reserved[w] {
			i++
			continue
		}
		valued, ok := wrappers[programName(w)]
		if !ok {
			return i
		}
		name := programName(w)
		i++
		for i < len(words) && strings.HasPrefix(words[i], "-") && words[i] != "-" {
			opt := words[i]
			i++
			if opt == "--" {
				break
			}
			if name == "command" && (opt == "-v" || opt == "-V") {
				// `command -v docker` prints where docker is; it runs nothing.
				return len(words)
			}
			if !strings.HasPrefix(opt, "--") && len(opt) == 2 && strings.IndexByte(valued, opt[1]) >= 0 {
				i++
			}
		}
		if name == "timeout" && i < len(words) {
			i++ // The duration.
		}
	}
	return i
}

// isAssignment reports whether w is a shell variable assignment such as A=b.
func isAssignment(w string) bool {
	eq := strings.IndexByte(w, '=')
	if eq <= 0 {
		return false
	}
	for j := 0; j < eq; j++ {
		c := w[j]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// dockerGlobal lists the docker CLI's global options that take a value; they may come
// before the subcommand, as in `docker --context prod run`.
var dockerGlobal = flagSet{
	short: "cHl",
	long:  words("config context host log-level tlscacert tlscert tlskey"),
}

// parseDocker reads a docker command from the word after the program.
func parseDocker(c simpleCommand, i int) (Spec, bool) {
	w := c.words
	start := i
	i = skipFlags(w, i, dockerGlobal)
	if i >= len(w) {
		return Spec{}, false
	}
	switch w[i] {
	case "run":
		return parseRun(c, i+1)
	case "container":
		if i+1 < len(w) && w[i+1] == "run" {
			return parseRun(c, i+2)
		}
	case "compose":
		spec, ok := parseCompose(w, i+1, w[start:i+1])
		spec.Program = "docker"
		return spec, ok
	}
	return Spec{}, false
}

// skipFlags returns the index of the first word at or after i that is not an option
// of fs (an option's value counts as part of it).
func skipFlags(w []string, i int, fs flagSet) int {
	for i < len(w) && strings.HasPrefix(w[i], "-") && w[i] != "-" {
		if w[i] == "--" {
			return i + 1
		}
		i += 1 + fs.valueWords(w[i])
	}
	return i
}

// runFlags lists the options of docker run that take a value (from `docker run --help`
// of CLI 28 plus older aliases); every other option is a switch. Knowing them is what
// tells `-v data:/x img` (image img) from `-d img` (image img).
var runFlags = flagSet{
	short: "acehlmpuvw",
	long: words(`add-host annotation attach blkio-weight blkio-weight-device cap-add cap-drop
		cgroup-parent cgroupns cidfile cpu-count cpu-percent cpu-period cpu-quota cpu-rt-period
		cpu-rt-runtime cpu-shares cpus cpuset-cpus cpuset-mems credentialspec detach-keys device
		device-cgroup-rule device-read-bps device-read-iops device-write-bps device-write-iops
		dns dns-opt dns-option dns-search domainname entrypoint env env-file expose gpus
		group-add health-cmd health-interval health-retries health-start-interval
		health-start-period health-timeout hostname io-maxbandwidth io-maxiops ip ip6 ipc
		isolation kernel-memory label label-file link link-local-ip log-driver log-opt
		mac-address memory memory-reservation memory-swap memory-swappiness mount name net
		net-alias network network-alias oom-score-adj pid pids-limit platform publish pull
		restart runtime security-opt shm-size stop-signal stop-timeout storage-opt sysctl
		tmpfs ulimit user userns uts volume volume-driver volumes-from workdir`),
}

// parseRun reads the options, image and arguments of docker run, starting at the word
// after `run`.
func parseRun(c simpleCommand, i int) (Spec, bool) {
	w := c.words
	spec := Spec{Program: "docker", runEnd: c.ends[i-1]}
	for i < len(w) {
		a := w[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		i++
		if strings.HasPrefix(a, "--") {
			name, value, hasValue := strings.Cut(a[2:], "=")
			if !hasValue && runFlags.long[name] {
				if i >= len(w) {
					return Spec{}, false
				}
				value, hasValue = w[i], true
				i++
			}
			spec.setLong(name, value, hasValue)
			continue
		}
		// A bundle of short options: switches until one that takes a value, which
		// takes the rest of the word or else the next word.
		for j := 1; j < len(a); j++ {
			o := a[j]
			if strings.IndexByte(runFlags.short, o) < 0 {
				spec.setShort(o)
				continue
			}
			value := a[j+1:]
			if value == "" {
				if i >= len(w) {
					return Spec{}, false
				}
				value = w[i]
				i++
			}
			spec.setValue(o, value)
			break
		}
	}
	if i >= len(w) || w[i] == "" {
		return Spec{}, false
	}
	spec.Image = w[i]
	spec.Args = append([]string{}, w[i+1:]...)
	return spec, true
}

// setLong records a long option of docker run.
func (s *Spec) setLong(name, value string, hasValue bool) {
	on := !hasValue || value == "true" || value == "1"
	switch name {
	case "detach":
		s.Detached = on
	case "rm":
		s.Remove = on
	case "name":
		s.Name = value
	case "label":
		s.setValue('l', value)
	}
}

// setShort records a short switch of docker run.
func (s *Spec) setShort(o byte) {
	if o == 'd' {
		s.Detached = true
	}
}

// setValue records a short option of docker run that took a value.
func (s *Spec) setValue(o byte, value string) {
	if o == 'l' {
		if v, ok := strings.CutPrefix(value, labelKey+"="); ok && v != "" {
			s.LabelName = v
		}
	}
}

// composeGlobal lists the options of docker compose (v2) and docker-compose (v1) that
// take a value and may come before `up`.
var composeGlobal = flagSet{
	short: "cfHp",
	long: words(`ansi context env-file file host log-level parallel profile progress
		project-directory project-name tlscacert tlscert tlskey`),
}

// composeUp lists the options of compose up that take a value.
var composeUp = flagSet{
	short: "t",
	long: words(`attach exit-code-from no-attach pull scale timeout wait-timeout
		abort-on-container-failure-code`),
}

// parseCompose reads a compose command from the word after `compose` (or after the
// docker-compose program); prefix holds the words already read after the program.
func parseCompose(w []string, i int, prefix []string) (Spec, bool) {
	spec := Spec{Compose: true}
	start := i
	for i < len(w) && strings.HasPrefix(w[i], "-") && w[i] != "-" {
		if w[i] == "--" {
			return Spec{}, false
		}
		name, value, n := optionValue(w, i, composeGlobal)
		switch name {
		case "p", "project-name":
			spec.Name = value
		case "project-directory":
			spec.ProjectDir = value
		case "f", "file":
			if spec.ProjectDir == "" && value != "" && value != "-" {
				spec.ProjectDir = path.Dir(strings.ReplaceAll(value, `\`, "/"))
			}
		}
		i += n
	}
	if i >= len(w) || w[i] != "up" {
		return Spec{}, false
	}
	spec.ComposeArgs = append(append([]string{}, prefix...), w[start:i]...)
	for i++; i < len(w); {
		a := w[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			spec.Args = append(spec.Args, a)
			i++
			continue
		}
		if a == "-d" || a == "--detach" || a == "--detach=true" {
			spec.Detached = true
		}
		_, _, n := optionValue(w, i, composeUp)
		i += n
	}
	return spec, true
}

// optionValue reads the option at w[i] and returns its name, its value and how many
// words it spans.
func optionValue(w []string, i int, fs flagSet) (name, value string, n int) {
	a := w[i]
	if strings.HasPrefix(a, "--") {
		name, value, has := strings.Cut(a[2:], "=")
		if !has && fs.long[name] && i+1 < len(w) {
			return name, w[i+1], 2
		}
		return name, value, 1
	}
	name = a[1:2]
	if strings.IndexByte(fs.short, a[1]) >= 0 && len(a) == 2 {
		if i+1 < len(w) {
			return name, w[i+1], 2
		}
		return name, "", 1
	}
	return name, a[2:], 1
}

// flagSet names the options of a command that take a value: short is a string of
// option letters, long a set of long names.
type flagSet struct {
	short string
	long  map[string]bool
}

// valueWords returns how many words after option a hold its value: 1 when a takes a
// value that is not attached to it, else 0.
func (fs flagSet) valueWords(a string) int {
	if strings.HasPrefix(a, "--") {
		name, _, has := strings.Cut(a[2:], "=")
		if !has && fs.long[name] {
			return 1
		}
		return 0
	}
	if len(a) == 2 && strings.IndexByte(fs.short, a[1]) >= 0 {
		return 1
	}
	return 0
}

// words turns a blank-separated list into a set.
func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}
