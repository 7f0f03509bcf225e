package ps

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"bgrun/store"
)

// Style says how output may be decorated: Color for ANSI colours (a terminal
// without NO_COLOR), Width for the columns to fit the table in.
type Style struct {
	Color bool
	Width int
}

const (
	reset   = "\x1b[0m"
	bold    = "\x1b[1m"
	red     = "\x1b[31m"
	green   = "\x1b[32m"
	yellow  = "\x1b[33m"
	blue    = "\x1b[34m"
	magenta = "\x1b[35m"
	cyan    = "\x1b[36m"
	gray    = "\x1b[90m"
)

func (s Style) paint(code, text string) string {
	if !s.Color || text == "" {
		return text
	}
	return code + text + reset
}

// formatMemory shows bytes as the list does: "-" for none, "12 MB", "1.5 GB".
func formatMemory(b int64) string {
	mb := float64(b) / (1 << 20)
	switch {
	case b <= 0:
		return "-"
	case mb >= 1024:
		return fmt.Sprintf("%.1f GB", mb/1024)
	case mb < 1:
		return "<1 MB"
	}
	return fmt.Sprintf("%.0f MB", mb)
}

// formatDuration shows an uptime compactly: 45s, 12m, 3h 4m, 2d 5h.
func formatDuration(sec int64) string {
	d := time.Duration(sec) * time.Second
	switch {
	case sec < 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", sec)
	case d < time.Hour:
		return fmt.Sprintf("%dm", sec/60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", sec/3600, sec%3600/60)
	}
	return fmt.Sprintf("%dd %dh", sec/86400, sec%86400/3600)
}

// formatPorts shows ports as ":3000,:8080", or "-".
func formatPorts(ports []int) string {
	if len(ports) == 0 {
		return "-"
	}
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = ":" + strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

type column struct {
	head   string
	cells  []string
	colors []string
	middle bool // truncate in the middle (paths)
	// shrink is the order in which columns give up width to fit: 1 first
	// (command, directory), then 2 (group, port); 0 never (the name, which
	// is what a user types next).
	shrink int
}

// writeTable writes the list as a table fitted to st.Width, then a total line.
func writeTable(w io.Writer, procs []Process, st Style) error {
	if len(procs) == 0 {
		_, err := fmt.Fprintln(w, "No processes. Start one with: bgrun --name NAME --command \"...\"")
		return err
	}
	hasGroup := false
	for _, p := range procs {
		hasGroup = hasGroup || p.Group != ""
	}
	cols := []*column{
		{head: "ID"}, {head: "PID"}, {head: "Name"}, {head: "Port", shrink: 2},
		{head: "Memory"}, {head: "Command", shrink: 1}, {head: "Directory", shrink: 1, middle: true},
		{head: "Status"}, {head: "Runtime"},
	}
	if hasGroup {
		cols = append(cols[:3], append([]*column{{head: "Group", shrink: 2}}, cols[3:]...)...)
	}
	running := 0
	for _, p := range procs {
		pid, runtime := "-", "-"
		if p.Running {
			running++
			pid = strconv.Itoa(p.PID)
			runtime = formatDuration(p.Uptime)
			if p.Docker && p.PID == 0 { // a detached container: no client process
				pid = "docker"
			}
		}
		status := statusLabel(p)
		if p.Restarts > 0 && p.Running {
			status += fmt.Sprintf(" ↻%d", p.Restarts)
		}
		if d := statusDetail(p); d != "" {
			status += " · " + d
		}
		vals := map[string][2]string{
			"ID":        {strconv.FormatInt(p.ID, 10), blue},
			"PID":       {pid, yellow},
			"Name":      {p.Name, cyan + bold},
			"Group":     {orDash(p.Group), magenta},
			"Port":      {formatPorts(p.Ports), red},
			"Memory":    {formatMemory(p.Memory), cyan},
			"Command":   {displayCommand(p.Command), ""},
			"Directory": {p.Directory, gray},
			"Status":    {status, "status"},
			"Runtime":   {runtime, magenta},
		}
		for _, c := range cols {
			v := vals[c.head]
			c.cells = append(c.cells, strings.ReplaceAll(v[0], "\n", " "))
			c.colors = append(c.colors, v[1])
		}
	}
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c.head)
		for _, s := range c.cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	if st.Width > 0 {
		// Each column costs its width plus "│ " and " "; the last adds "│".
		avail := st.Width - 3*len(cols) - 1
		for round := 1; round <= 2; round++ {
			for sum(widths) > avail {
				widest := -1
				for i, c := range cols {
					if c.shrink == round && widths[i] > 8/round && (widest < 0 || widths[i] > widths[widest]) {
						widest = i
					}
				}
				if widest < 0 {
					break
				}
				widths[widest]--
			}
		}
	}
	line := func(l, m, r string) {
		var b strings.Builder
		b.WriteString(l)
		for i, wd := range widths {
			if i > 0 {
				b.WriteString(m)
			}
			b.WriteString(strings.Repeat("─", wd+2))
		}
		b.WriteString(r)
		fmt.Fprintln(w, b.String())
	}
	row := func(get func(c *column, i int) (string, string)) {
		var b strings.Builder
		for i, c := range cols {
			text, color := get(c, i)
			text = fit(text, widths[i], c.middle)
			pad := widths[i] - utf8.RuneCountInString(text)
			if color == "status" {
				text, color = colorStatus(text, st), ""
			}
			b.WriteString("│ ")
			b.WriteString(st.paint(color, text))
			b.WriteString(strings.Repeat(" ", pad))
			b.WriteString(" ")
		}
		b.WriteString("│")
		fmt.Fprintln(w, b.String())
	}
	line("╭", "┬", "╮")
	row(func(c *column, i int) (string, string) { return c.head, bold })
	line("├", "┼", "┤")
	for r := range procs {
		row(func(c *column, i int) (string, string) { return c.cells[r], c.colors[r] })
	}
	line("╰", "┴", "╯")
	total := fmt.Sprintf("Total: %d processes (%s, %s)", len(procs),
		st.paint(green, fmt.Sprintf("%d running", running)), st.paint(red, fmt.Sprintf("%d stopped", len(procs)-running)))
	_, err := fmt.Fprintln(w, total)
	return err
}

// statusLabel is how the table and the details show p's status: "●
// Running", "✗ Exited 1", "✗ Killed: SIGKILL", "○ Stopped".
func statusLabel(p Process) string {
	if p.Status.Ended() && p.LastExit != nil {
		how := p.LastExit.String() // "exited 1", "killed: SIGKILL"
		return "✗ " + strings.ToUpper(how[:1]) + how[1:]
	}
	if l, ok := statusLabels[p.Status]; ok {
		return l
	}
	return "? " + string(p.Status)
}

var statusLabels = map[store.Status]string{store.StatusRunning: "● Running", store.StatusFailed: "✗ Failed",
	statusUnknown: "? Unknown", store.StatusRestarting: "↻ Restarting", store.StatusErrored: "✗ Errored",
	store.StatusStarting: "◌ Starting", store.StatusPaused: "‖ Paused", store.StatusStopped: "○ Stopped",
	store.StatusStopping: "◌ Stopping",
	store.StatusExited:   "✗ Exited", store.StatusKilled: "✗ Killed"}

// statusDetail is what the status cell adds to statusLabel.
func statusDetail(p Process) string {
	if p.Status.Ended() && p.LastExit != nil && p.StatusDetail == p.LastExit.String() {
		return "" // the label says it
	}
	return p.StatusDetail
}

// colorStatus paints a status cell: green runs, yellow is on its way
// (starting, restarting, paused, unknown), grey was stopped on purpose, red
// ended or failed.
func colorStatus(s string, st Style) string {
	switch {
	case strings.HasPrefix(s, "●"):
		return st.paint(green+bold, s)
	case strings.HasPrefix(s, "?"), strings.HasPrefix(s, "↻"), strings.HasPrefix(s, "◌"), strings.HasPrefix(s, "‖"):
		return st.paint(yellow+bold, s)
	case strings.HasPrefix(s, "○"):
		return st.paint(gray, s)
	}
	return st.paint(red+bold, s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// displayCommand is a command as the user would type it: bgrun's own
// records run `exec /path/to/bgrun --_serve --db ... --port N`, which the
// user started as `bgrun --dashboard --port N`.
func displayCommand(command string) string {
	f := strings.Fields(command)
	i := slices.Index(f, "--_serve")
	if i < 0 {
		return command
	}
	out := []string{"bgrun", "--dashboard"}
	for j := i + 1; j+1 < len(f); j += 2 {
		if f[j] == "--port" || f[j] == "--host" {
			out = append(out, f[j], f[j+1])
		}
	}
	return strings.Join(out, " ")
}

// fit truncates s to n runes with "…", at the end or in the middle.
func fit(s string, n int, middle bool) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:max(n, 0)])
	}
	if middle && n >= 3 {
		k := n - 1
		return string(r[:(k+1)/2]) + "…" + string(r[len(r)-k/2:])
	}
	return string(r[:n-1]) + "…"
}

// writeDetails writes one process in full, one field a line.
func writeDetails(w io.Writer, p Process, st Style) error {
	label := func(k string) string { return st.paint(bold, fmt.Sprintf("%-11s", k+":")) }
	kv := func(k, v string) { fmt.Fprintf(w, "%s %s\n", label(k), v) }
	kv("Name", st.paint(cyan+bold, p.Name))
	status := colorStatus(statusLabel(p), st)
	if d := statusDetail(p); d != "" {
		status += " (" + d + ")"
	}
	if p.NextRestartAt != nil {
		status += ", next try at " + p.NextRestartAt.Local().Format(time.TimeOnly)
	}
	kv("Status", status)
	if p.Status.Ended() && !p.Guarded {
		kv("Hint", "add --guard to restart it when it crashes")
	}
	if p.Running {
		pids := make([]string, len(p.PIDs))
		for i, x := range p.PIDs {
			pids[i] = strconv.Itoa(x)
		}
		kv("PID", fmt.Sprintf("%d (tree: %s)", p.PID, strings.Join(pids, " ")))
		kv("Port", formatPorts(p.Ports))
		kv("Memory", formatMemory(p.Memory))
		kv("CPU", fmt.Sprintf("%.1f%%", p.CPU))
		kv("Runtime", formatDuration(p.Uptime))
	}
	kv("Command", p.Command)
	switch p.Leader {
	case "program":
		kv("Leader", "the program itself (a simple command, run with exec)")
	case "shell":
		kv("Leader", "the shell (a compound command; the program runs below it)")
	}
	if p.Instance != "" {
		kv("Marker", MarkerVar+"="+p.Instance)
	}
	kv("Directory", p.Directory)
	if p.Group != "" {
		kv("Group", p.Group)
	}
	if p.Parent != "" {
		kv("Parent", p.Parent)
	}
	if !p.StartedAt.IsZero() {
		kv("Started", p.StartedAt.Local().Format(time.RFC3339))
	}
	if p.LastExit != nil {
		how := fmt.Sprintf("code %d", p.LastExit.Code)
		switch {
		case p.LastExit.Unknown:
			how = "status unknown (it was adopted: its supervisor was not its parent)"
		case p.LastExit.Signal != "":
			how = "signal " + p.LastExit.Signal
		}
		kv("Last exit", how+" at "+p.LastExit.At.Local().Format(time.RFC3339))
	}
	if p.ConfigPath != "" {
		kv("Config", p.ConfigPath)
	}
	kv("Stdout", p.StdoutPath)
	kv("Stderr", p.StderrPath)
	if p.Guarded || p.Watched || p.Restarts > 0 {
		var modes []string
		if p.Guarded {
			modes = append(modes, "guarded")
		}
		if p.Watched {
			modes = append(modes, "watched")
		}
		switch {
		case p.Supervised:
			modes = append(modes, fmt.Sprintf("supervised (pid %d)", p.SupervisorPID))
		case p.Guarded || p.Watched:
			modes = append(modes, "supervisor not running")
		}
		if p.GaveUp {
			modes = append(modes, "gave up")
		}
		if p.Backoff != "" && !p.Running {
			modes = append(modes, "backoff "+p.Backoff)
		}
		kv("Supervisor", strings.Join(append(modes, fmt.Sprintf("%d restarts", p.Restarts)), ", "))
	}
	return nil
}

// StyleFor is how output to w may be decorated: colours only on a terminal
// (without NO_COLOR or TERM=dumb); the width from COLUMNS, else the
// terminal's, else no limit (piped).
func StyleFor(w io.Writer) Style {
	f, isFile := w.(*os.File)
	width, tty := 0, false
	if isFile {
		width, tty = terminalWidth(f)
	}
	st := Style{Color: tty && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"}
	if cols, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && cols > 0 {
		st.Width = cols
	} else if tty {
		st.Width = width
	}
	return st
}
