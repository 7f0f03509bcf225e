package dash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"bgrun/logs"
	"bgrun/ps"
	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
	"bgrun/watch"
)

// maxBody bounds a request body; a start request is a few hundred bytes.
const maxBody = 1 << 20

// historyLimit is the default and historyMax the largest number of history
// entries one request returns.
const (
	historyLimit = 50
	historyMax   = 1000
)

// badRequest is a client mistake: 400.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

// status maps an error from the packages below to an HTTP status by its
// kind: bad input 400, not found 404, conflict 409, failed start 422,
// anything else 500.
func status(err error) int {
	var br badRequest
	if errors.As(err, &br) {
		return http.StatusBadRequest
	}
	switch store.KindOf(err) {
	case store.KindBadInput:
		return http.StatusBadRequest
	case store.KindNotFound:
		return http.StatusNotFound
	case store.KindConflict:
		return http.StatusConflict
	case store.KindFailedStart:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if code >= 500 {
		s.log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
	}
	writeError(w, code, err.Error())
}

// decode reads a JSON body into v; anything malformed is a 400.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		return badRequest{"bad JSON body: " + err.Error()}
	}
	if dec.More() {
		return badRequest{"bad JSON body: more than one value"}
	}
	return nil
}

// pathName returns the {name} of the route, refusing the dashboard's own
// record: the dashboard does not stop or delete itself from its own page.
func pathName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if err := checkName(name); err != nil {
		return "", err
	}
	return name, nil
}

func checkName(name string) error {
	if err := store.ValidateName(name); err != nil {
		return badRequest{err.Error()}
	}
	if name == Name {
		return badRequest{fmt.Sprintf("%s is the dashboard itself; manage it from a shell (bgrun --stop %s)", Name, Name)}
	}
	return nil
}

// processes answers the list: at most a second old, and never older than
// the last change to the store; ?t=... (as the original's page sends) asks
// for a fresh sample.
func (s *server) processes(w http.ResponseWriter, r *http.Request) {
	maxAge := sampleEvery
	if r.URL.Query().Has("t") {
		maxAge = 0
	}
	f, err := s.sampler.current(maxAge)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, f.json)
}

// startRequest is the body of POST /api/start.
type startRequest struct {
	Name      string            `json:"name"`
	Command   string            `json:"command"`
	Directory string            `json:"directory"`
	Force     bool              `json:"force"`
	Env       map[string]string `json:"env"`
}

// start starts a new process (or replaces one with force) with the
// dashboard's own environment plus the variables given.
func (s *server) start(w http.ResponseWriter, r *http.Request) {
	var req startRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	opt, err := s.startOptions(req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := run.Request(r.Context(), s.db, opt, nil)
	s.sampler.poke()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answerProcess(w, r, res.Record.Name)
}

func (s *server) startOptions(req startRequest) (run.Options, error) {
	req.Name = strings.TrimSpace(req.Name)
	if err := checkName(req.Name); err != nil {
		return run.Options{}, err
	}
	if strings.TrimSpace(req.Command) == "" {
		return run.Options{}, badRequest{"command is required"}
	}
	dir := strings.TrimSpace(req.Directory)
	if dir == "" {
		return run.Options{}, badRequest{"directory is required"}
	}
	if dir == "~" || strings.HasPrefix(dir, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(h, dir[1:])
		}
	}
	if !filepath.IsAbs(dir) {
		return run.Options{}, badRequest{fmt.Sprintf("directory %q must be an absolute path", dir)}
	}
	if err := run.CheckDir(dir); err != nil {
		return run.Options{}, err
	}
	set := make([]string, 0, len(req.Env))
	for k, v := range req.Env {
		if strings.Contains(k, "=") {
			return run.Options{}, badRequest{fmt.Sprintf("bad environment variable %q", k)}
		}
		if err := run.CheckSet(k + "=" + v); err != nil {
			return run.Options{}, err
		}
		set = append(set, k+"="+v)
	}
	sort.Strings(set)
	return run.Options{
		Name: req.Name, Command: req.Command, Dir: dir, Force: req.Force,
		Env: childEnv(), Set: set, Home: s.home, StopTimeout: s.stopTimeout,
	}, nil
}

// childEnv is the dashboard's environment as a started process gets it:
// without the dashboard's own identity (which would make every process a
// child of the dashboard, stopped with it) and without its port variable.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "BGR_PROCESS_NAME", "BGR_PARENT_NAME", "BGRUN_PARENT_NAME", "BUN_PORT", tokenEnv:
			continue
		}
		env = append(env, kv)
	}
	return env
}

// answerProcess answers {"ok":true,"process":{...}} with the live state of
// name.
func (s *server) answerProcess(w http.ResponseWriter, r *http.Request, name string) {
	p, err := ps.Get(r.Context(), s.db, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "process": s.sampler.decorate(p)})
}

// ending answers POST /api/stop/{name} and DELETE /api/processes/{name}:
// op (stop.Stop or stop.Delete) on the named process.
func (s *server) ending(op func(context.Context, *store.DB, string, stop.Options) (stop.Result, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, err := pathName(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		res, err := op(r.Context(), s.db, name, stop.Options{Default: s.stopTimeout})
		s.sampler.poke()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "was_running": res.WasRunning})
	}
}

func (s *server) restart(w http.ResponseWriter, r *http.Request) {
	name, err := pathName(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_, err = run.Request(r.Context(), s.db, run.Options{Name: name, Restart: true, Home: s.home, StopTimeout: s.stopTimeout}, nil)
	s.sampler.poke()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answerProcess(w, r, name)
}

// guardRequest is the body of POST /api/guard.
type guardRequest struct {
	Name    string `json:"name"`
	Enabled *bool  `json:"enabled"`
}

func (s *server) guard(w http.ResponseWriter, r *http.Request) {
	var req guardRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkName(req.Name); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Enabled == nil {
		s.fail(w, r, badRequest{`"enabled" (true or false) is required`})
		return
	}
	if _, err := s.db.Get(req.Name); err != nil {
		s.fail(w, r, err)
		return
	}
	gr, err := watch.SetGuard(s.db, req.Name, *req.Enabled)
	s.sampler.poke()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.db.Get(req.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "name": req.Name, "guarded": rec.Guard, "changed": gr.Changed})
}

func (s *server) logs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := store.ValidateName(name); err != nil {
		s.fail(w, r, badRequest{err.Error()})
		return
	}
	q := r.URL.Query()
	tab := q.Get("tab")
	if tab == "" {
		tab = "stdout"
	}
	if tab != "stdout" && tab != "stderr" {
		s.fail(w, r, badRequest{fmt.Sprintf("tab must be stdout or stderr, not %q", tab)})
		return
	}
	var offset int64
	if v := q.Get("offset"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.fail(w, r, badRequest{fmt.Sprintf("offset must be a byte count (0 or more), not %q", v)})
			return
		}
		offset = n
	}
	rec, err := s.db.Get(name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	path := rec.StdoutPath
	if tab == "stderr" {
		path = rec.StderrPath
	}
	chunk, err := readLog(path, offset, logWindow)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	marks, errMarks, err := run.LogMarks(s.db, rec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if tab == "stderr" {
		marks = errMarks
	}
	chunk.Marks = logs.MarksIn(marks, chunk.Offset, chunk.Size)
	writeJSON(w, http.StatusOK, chunk)
}

func (s *server) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := historyLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, badRequest{fmt.Sprintf("limit must be a number from 1 to %d, not %q", historyMax, v)})
			return
		}
		limit = min(n, historyMax)
	}
	evs, err := s.db.Events(q.Get("name"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, evs)
}

func (s *server) versionInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": s.version})
}
