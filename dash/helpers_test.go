package dash

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bgrun/ps"
	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
	"bgrun/watch"
)

// TestMain lets the test binary double as a helper program that tests
// start as a managed process: `helperCommand("listen", PORT)`.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "--_supervise" {
		// The store's supervisor, which the API's starts ask (run.Ask
		// starts this executable as it).
		if err := watch.Supervise(context.Background(), os.Args[2], watch.Options{StopTimeout: 3 * time.Second}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	switch os.Getenv("BGRUN_DASH_HELPER") {
	case "":
		os.Exit(m.Run())
	case "listen":
		ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("BGRUN_DASH_ARG"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(1)
			}
			c.Close()
		}
	}
	os.Exit(2)
}

// helperCommand is a shell command that runs this test binary as the named
// helper, exec'd so that the record's pid is the helper itself.
func helperCommand(name, arg string) string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return run.JoinArgs([]string{"exec", "env", "BGRUN_DASH_HELPER=" + name, "BGRUN_DASH_ARG=" + arg, exe})
}

// env is one test's world: its own HOME and store, a dashboard server over
// it, and a second store connection that plays the CLI.
type env struct {
	t    *testing.T
	home string // $HOME/.bgr
	dir  string // a working directory for processes
	db   *store.DB
	srv  *server
	ts   *httptest.Server
}

// newEnv starts a dashboard handler on a fresh store. Every process the
// test starts in that store is stopped and removed at cleanup.
func newEnv(t *testing.T, token string) *env {
	t.Helper()
	h := t.TempDir()
	t.Setenv("HOME", h)
	t.Setenv("BGR_HOME", "")
	t.Setenv("DB_NAME", "")
	t.Setenv(tokenEnv, "")
	e := &env{t: t, home: filepath.Join(h, ".bgr"), dir: t.TempDir()}
	path := filepath.Join(e.home, "bgr.sqlite")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() {
		if _, _, err := stop.Nuke(context.Background(), db, stop.Options{Timeout: 2 * time.Second}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		db.Close()
	})
	s, err := newServer(ServeOptions{DBPath: path, Token: token, Version: "1.2.3-test", StopTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.log.SetOutput(io.Discard)
	e.srv = s
	e.ts = httptest.NewServer(s)
	t.Cleanup(func() {
		s.endStreams()
		e.ts.Close()
		s.Close()
	})
	return e
}

// start starts name running command through the supervisor, as the CLI would.
func (e *env) start(name, command string) store.Record {
	e.t.Helper()
	res, err := run.Request(context.Background(), e.db, run.Options{Name: name, Command: command, Dir: e.dir, Home: e.home,
		Env: os.Environ(), Grace: -1}, nil)
	if err != nil {
		e.t.Fatalf("start %s: %v", name, err)
	}
	return res.Record
}

// do sends a request with a JSON body (nil for none) and returns the status
// and the raw body.
func (e *env) do(method, path string, body any, hdr ...string) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			r = strings.NewReader(string(b))
		}
	}
	req, err := http.NewRequest(method, e.ts.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.StatusCode, b
}

// must checks the status and decodes the body into v (when not nil).
func (e *env) must(want int, method, path string, body any, v any, hdr ...string) []byte {
	e.t.Helper()
	code, b := e.do(method, path, body, hdr...)
	if code != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return b
}

// errorOf decodes {"error": "..."}.
func errorOf(t *testing.T, b []byte) string {
	t.Helper()
	var v struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Error == "" {
		t.Fatalf("want {\"error\": ...}, got %s", b)
	}
	return v.Error
}

// alive reports whether the process that was pid at ticks still runs.
func alive(pid int, ticks uint64) bool {
	p, ok := ps.Read(pid)
	return ok && p.State != 'Z' && p.StartTicks == ticks
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sseReader reads events from a /api/events stream.
type sseReader struct {
	res *http.Response
	br  *bufio.Reader
}

func (e *env) events(query string) *sseReader {
	e.t.Helper()
	res, err := http.Get(e.ts.URL + "/api/events" + query)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		e.t.Fatalf("events: status %d: %s", res.StatusCode, b)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return &sseReader{res: res, br: bufio.NewReader(res.Body)}
}

// next returns the next data event, skipping comments and fields.
func (r *sseReader) next() ([]procJSON, error) {
	var data []string
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if len(data) == 0 {
				continue
			}
			var list []procJSON
			if err := json.Unmarshal([]byte(strings.Join(data, "\n")), &list); err != nil {
				return nil, fmt.Errorf("bad event %q: %w", data, err)
			}
			return list, nil
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[len("data: "):])
		}
	}
}

// until reads events until one satisfies cond, failing after d.
func (r *sseReader) until(d time.Duration, cond func([]procJSON) bool) ([]procJSON, error) {
	type result struct {
		list []procJSON
		err  error
	}
	done := make(chan result, 1)
	go func() {
		for {
			list, err := r.next()
			if err != nil || cond(list) {
				done <- result{list, err}
				return
			}
		}
	}()
	select {
	case res := <-done:
		return res.list, res.err
	case <-time.After(d):
		r.res.Body.Close() // ends the reader goroutine
		<-done
		return nil, fmt.Errorf("no matching event within %v", d)
	}
}

func find(list []procJSON, name string) (procJSON, bool) {
	for _, p := range list {
		if p.Name == name {
			return p, true
		}
	}
	return procJSON{}, false
}

// stopProcess stops name as `bgrun --stop` would.
func stopProcess(e *env, name string) (stop.Result, error) {
	return stop.Stop(context.Background(), e.db, name, stop.Options{Timeout: 2 * time.Second})
}

// points is how many samples the sampler holds for name.
func (s *sampler) points(name string) int {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	if sr := s.series[name]; sr != nil {
		return len(sr.cpuHist)
	}
	return 0
}
