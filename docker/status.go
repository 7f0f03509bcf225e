package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Record is the part of a bgrun record that identifies its container.
type Record struct {
	// Name is the record's name, which is also its bgrun.name label value.
	Name string
	// Command is the record's shell command.
	Command string
	// Dir is the record's working directory; for compose it is the project directory.
	Dir string
}

// Container is what Docker says about the container of a record.
type Container struct {
	// ID is the full container ID; "" when Exists is false.
	ID string
	// Name is the container's name without Docker's leading slash.
	Name string
	// Exists is false when no container of the record exists (never started, removed,
	// or started with --rm and stopped).
	Exists bool
	// Running is true when the container runs and is not paused; for compose, when any
	// container of the project does.
	Running bool
	// Status is Docker's word for the state: created, running, paused, restarting,
	// removing, exited or dead.
	Status string
	// ExitCode is the exit code of the container's last run.
	ExitCode int
	// StartedAt and FinishedAt are the times of the last start and exit; zero when
	// they never happened.
	StartedAt, FinishedAt time.Time
	// Ports are the published host ports, sorted; for compose, of all the project's
	// containers.
	Ports []int
}

// composeProject and composeDir are the labels Docker Compose puts on the containers of
// a project, by which a compose record finds them.
const (
	composeProject = "com.docker.compose.project"
	composeDir     = "com.docker.compose.project.working_dir"
)

// psFormat makes `docker ps` print, for each container, its ID and the labels that
// identify records, as JSON strings, since label values may hold any character.
const psFormat = `{{json .ID}} {{json (.Label "` + labelKey + `")}} {{json (.Label "` +
	composeProject + `")}} {{json (.Label "` + composeDir + `")}}`

// psRow is one container listed by `docker ps` with psFormat.
type psRow struct {
	id, label, project, dir string
}

// inspected is the part of `docker container inspect` output that Status reads.
type inspected struct {
	ID      string `json:"Id"`
	Name    string
	Created string
	State   struct {
		Status     string
		Running    bool
		Paused     bool
		ExitCode   int
		StartedAt  string
		FinishedAt string
	}
	Config struct {
		Labels map[string]string
	}
	NetworkSettings struct {
		Ports map[string][]struct {
			HostIP   string `json:"HostIp"`
			HostPort string
		}
	}
}

// wanted is a docker record that Status looks up, with its parsed command and what
// identifies its container.
type wanted struct {
	rec  Record
	spec Spec
	// name is the container name of a docker run with --name.
	name string
	// label is the bgrun.name value of a docker run without --name.
	label string
	// project and dirs identify a compose project: its name when the command gave one,
	// else its directory (as given and with symlinks resolved).
	project string
	dirs    []string
}

// Status reports the container of each docker record in recs, keyed by record name;
// records whose command runs no container are left out. It makes at most two docker
// calls for the whole list, whatever its length: one `docker ps -a` that finds the
// containers identified by label (the bgrun.name label, or a compose project's
// labels), and one `docker container inspect` of those and of the named containers.
// A record whose container does not exist gets Exists=false. The error is
// ErrUnavailable (wrapped) when Docker cannot be asked.
func Status(ctx context.Context, recs []Record) (map[string]Container, error) {
	out := map[string]Container{}
	var ws []wanted
	needPS, needCompose := false, false
	for _, rec := range recs {
		spec, ok := Parse(rec.Command)
		if !ok {
			continue
		}
		out[rec.Name] = Container{}
		w := wanted{rec: rec, spec: spec}
		switch {
		case spec.Compose:
			needPS, needCompose = true, true
			if spec.Name != "" {
				w.project = strings.ToLower(spec.Name)
			} else {
				w.dirs = projectDirs(rec.Dir, spec.ProjectDir)
			}
		case spec.Name != "":
			name, ok := containerName(spec)
			if !ok {
				continue
			}
			w.name = name
		default:
			needPS = true
			w.label = labelValue(rec, spec)
		}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return out, nil
	}

	var refs []string
	seen := map[string]bool{}
	add := func(ref string) {
		if !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	for _, w := range ws {
		if w.name != "" {
			add(w.name)
		}
	}
	if needPS {
		rows, err := listLabelled(ctx, needCompose)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			for _, w := range ws {
				if w.matchesRow(r) {
					add(r.id)
					break
				}
			}
		}
	}
	if len(refs) == 0 {
		return out, nil
	}

	cs, err := inspect(ctx, refs)
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		var mine []inspected
		for _, c := range cs {
			if w.matches(c) {
				mine = append(mine, c)
			}
		}
		if len(mine) > 0 {
			out[w.rec.Name] = summarize(mine, w.spec.Compose)
		}
	}
	return out, nil
}

// listLabelled runs the one `docker ps -a` of Status. Without compose records it lists
// only containers with a bgrun.name label; compose records need the compose labels
// too, and docker ps cannot OR two label filters, so it then lists all containers.
func listLabelled(ctx context.Context, compose bool) ([]psRow, error) {
	args := []string{"ps", "-a", "--no-trunc", "--format", psFormat}
	if !compose {
		args = append(args, "--filter", "label="+labelKey)
	}
	out, err := invocation{program: "docker", args: args, timeout: callTimeout}.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var rows []psRow
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var f [4]string
		n := 0
		for ; n < len(f); n++ {
			if err := dec.Decode(&f[n]); err != nil {
				if errors.Is(err, io.EOF) && n == 0 {
					return rows, nil
				}
				return nil, fmt.Errorf("list containers: read docker ps output: %w", err)
			}
		}
		rows = append(rows, psRow{id: f[0], label: f[1], project: f[2], dir: f[3]})
	}
}

// inspect runs the one `docker container inspect` of Status. Docker prints the
// containers it found and fails on the others, so a failure that only says "no such
// container" still yields the ones found.
func inspect(ctx context.Context, refs []string) ([]inspected, error) {
	args := append([]string{"container", "inspect"}, refs...)
	out, err := invocation{program: "docker", args: args, timeout: callTimeout}.run(ctx)
	if err != nil && !errors.Is(err, ErrNoContainer) {
		return nil, fmt.Errorf("inspect containers: %w", err)
	}
	var cs []inspected
	if len(strings.TrimSpace(string(out))) == 0 {
		return nil, nil
	}
	if jerr := json.Unmarshal(out, &cs); jerr != nil {
		return nil, fmt.Errorf("inspect containers: read docker output: %w", jerr)
	}
	return cs, nil
}

// projectDirs returns the directory a compose project of a record runs in, as Compose
// writes it into its working_dir label (absolute), and the same with symlinks
// resolved, since either may be what the label holds.
func projectDirs(dir, projectDir string) []string {
	d := dir
	if projectDir != "" {
		if filepath.IsAbs(projectDir) {
			d = projectDir
		} else {
			d = filepath.Join(dir, projectDir)
		}
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		abs = filepath.Clean(d)
	}
	dirs := []string{abs}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil && resolved != abs {
		dirs = append(dirs, resolved)
	}
	return dirs
}

// matchesRow reports whether a container listed by docker ps belongs to w. Named
// containers are not looked for in the list: inspect finds them by name.
func (w wanted) matchesRow(r psRow) bool {
	return w.matchLabels(r.label, r.project, r.dir)
}

// matches reports whether an inspected container belongs to w.
func (w wanted) matches(c inspected) bool {
	if w.name != "" {
		return strings.TrimPrefix(c.Name, "/") == w.name
	}
	l := c.Config.Labels
	return w.matchLabels(l[labelKey], l[composeProject], l[composeDir])
}

// matchLabels compares a container's identifying labels with w.
func (w wanted) matchLabels(label, project, dir string) bool {
	switch {
	case w.label != "":
		return label == w.label
	case w.project != "":
		return project == w.project
	case len(w.dirs) > 0 && dir != "":
		d := filepath.Clean(dir)
		for _, x := range w.dirs {
			if d == x {
				return true
			}
		}
	}
	return false
}

// summarize turns the containers of one record into its Container. Of several (an old
// exited container beside a new one, or the services of a compose project) it reports
// a running one, else the newest; a compose record runs when any service runs, and
// shows the ports of all of them.
func summarize(cs []inspected, compose bool) Container {
	sort.SliceStable(cs, func(i, j int) bool {
		if a, b := isRunning(cs[i]), isRunning(cs[j]); a != b {
			return a
		}
		return parseTime(cs[i].Created).After(parseTime(cs[j].Created))
	})
	best := cs[0]
	c := Container{
		ID:         best.ID,
		Name:       strings.TrimPrefix(best.Name, "/"),
		Exists:     true,
		Running:    isRunning(best),
		Status:     best.State.Status,
		ExitCode:   best.State.ExitCode,
		StartedAt:  parseTime(best.State.StartedAt),
		FinishedAt: parseTime(best.State.FinishedAt),
	}
	from := cs[:1]
	if compose {
		from = cs
	}
	c.Ports = hostPorts(from)
	return c
}

// isRunning reports whether a container runs. Docker keeps Running true while a
// container is paused, but a paused container serves nothing, so it does not count.
func isRunning(c inspected) bool {
	return c.State.Running && !c.State.Paused
}

// hostPorts returns the distinct published host ports of cs, sorted. Docker lists a
// port once per address family, hence the dedup.
func hostPorts(cs []inspected) []int {
	seen := map[int]bool{}
	var ports []int
	for _, c := range cs {
		for _, bindings := range c.NetworkSettings.Ports {
			for _, b := range bindings {
				p, err := strconv.Atoi(b.HostPort)
				if err != nil || p <= 0 || seen[p] {
					continue
				}
				seen[p] = true
				ports = append(ports, p)
			}
		}
	}
	sort.Ints(ports)
	return ports
}

// parseTime reads a Docker timestamp. Docker writes 0001-01-01T00:00:00Z for a time
// that never happened, which parses to the zero time; anything unreadable does too.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
