package dash

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bgrun/ps"
	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
)

func TestVersionAndHeaders(t *testing.T) {
	e := newEnv(t, "")
	req, _ := http.NewRequest("GET", e.ts.URL+"/api/version", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
		"Content-Type": "application/json; charset=utf-8",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") ||
		strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	var v map[string]string
	e.must(200, "GET", "/api/version", nil, &v)
	if v["version"] != "1.2.3-test" {
		t.Errorf("version = %v", v)
	}
}

func TestPageAndAssets(t *testing.T) {
	e := newEnv(t, "")
	code, b := e.do("GET", "/", nil)
	if code != 200 || bytes.Contains(b, []byte(`token`)) ||
		!bytes.Contains(b, []byte("1.2.3-test")) || !bytes.Contains(b, []byte(`src="/assets/app.js"`)) {
		t.Fatalf("GET /: %d %s", code, b)
	}
	if bytes.Contains(b, []byte("<script>")) {
		t.Errorf("the page has an inline script, which the CSP forbids")
	}
	for _, a := range []string{"/assets/app.js", "/assets/app.css"} {
		code, b := e.do("GET", a, nil)
		if code != 200 || len(b) < 1000 {
			t.Errorf("GET %s: %d, %d bytes", a, code, len(b))
		}
	}
	if code, _ := e.do("GET", "/assets/nope.js", nil); code != 404 {
		t.Errorf("missing asset: %d", code)
	}
	code, b = e.do("GET", "/api/nope", nil)
	if code != 404 || !strings.Contains(errorOf(t, b), "/api/nope") {
		t.Errorf("unknown route: %d %s", code, b)
	}
	if code, b = e.do("GET", "/api/stop/x", nil); code != 404 {
		t.Errorf("wrong method: %d %s", code, b)
	}
}

// TestLoginCookie opens the page with the login link's token: the answer
// sets an HttpOnly, SameSite=Strict cookie that then opens every route, and
// the page itself never holds the token.
func TestLoginCookie(t *testing.T) {
	tok := `"><script>alert(1)</script>`
	e := newEnv(t, tok)
	e.srv.ownerUID = -1 // the token alone
	res, err := http.Get(e.ts.URL + "/?token=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || bytes.Contains(b, []byte("<script>alert")) || bytes.Contains(b, []byte("alert(1)")) {
		t.Fatalf("GET /?token=: %d %s", res.StatusCode, b)
	}
	var c *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == cookieName {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("login cookie = %+v", c)
	}
	for _, path := range []string{"/", "/api/processes", "/api/logs/x?tab=stdout", "/assets/app.js"} {
		code, _ := e.do("GET", path, nil, "Cookie", cookieName+"="+c.Value)
		if code == 401 || code == 403 {
			t.Errorf("GET %s with the cookie: %d", path, code)
		}
		code, _ = e.do("GET", path, nil, "Cookie", cookieName+"=wrong")
		if code != 401 {
			t.Errorf("GET %s with a wrong cookie: %d", path, code)
		}
	}
	// The token in the query opens the page only, not the API.
	if code, _ := e.do("GET", "/api/processes?token="+url.QueryEscape(tok), nil); code != 401 {
		t.Errorf("API with ?token=: %d", code)
	}
}

func TestProcessesList(t *testing.T) {
	e := newEnv(t, "")
	var empty []procJSON
	if b := e.must(200, "GET", "/api/processes", nil, &empty); strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("empty list = %s, want []", b)
	}
	rec := e.start("web", "exec sleep 60")
	e.start(Name, "exec sleep 60") // the dashboard's own record is never listed
	var list []procJSON
	e.must(200, "GET", "/api/processes?t=1", nil, &list)
	if len(list) != 1 {
		t.Fatalf("list = %+v, want only web", list)
	}
	p := list[0]
	if p.Name != "web" || !p.Running || p.PID != rec.PID || p.Status != "running" || p.Memory <= 0 ||
		p.Directory != e.dir || len(p.CPUHistory) == 0 || len(p.MemoryHistory) != len(p.CPUHistory) {
		t.Errorf("web = %+v", p)
	}
	// The raw JSON has the history fields as arrays even for a new sample.
	b := e.must(200, "GET", "/api/processes", nil, nil)
	for _, k := range []string{`"cpu_history":[`, `"memory_history":[`, `"ports":[]`, `"uptime_seconds":`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("missing %s in %s", k, b)
		}
	}
}

func TestStart(t *testing.T) {
	e := newEnv(t, "")
	var res struct {
		OK      bool     `json:"ok"`
		Process procJSON `json:"process"`
	}
	e.must(200, "POST", "/api/start", map[string]any{
		"name": "api", "command": "echo \"$B$A\"; exec sleep 60", "directory": e.dir,
		"env": map[string]string{"B": "2", "A": "1"},
	}, &res)
	if !res.OK || res.Process.Name != "api" || !res.Process.Running || res.Process.PID == 0 {
		t.Fatalf("start answer = %+v", res)
	}
	rec, err := e.db.Get("api")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.Set, []string{"A=1", "B=2"}) || rec.Dir != e.dir || rec.Parent != "" {
		t.Errorf("record: set %q dir %q parent %q", rec.Set, rec.Dir, rec.Parent)
	}
	waitFor(t, 5*time.Second, "the env in the log", func() bool {
		b, _ := os.ReadFile(rec.StdoutPath)
		return string(b) == "21\n"
	})

	// Running without force: 409, and the process is untouched.
	code, b := e.do("POST", "/api/start", map[string]any{"name": "api", "command": "sleep 1", "directory": e.dir})
	if code != 409 || !strings.Contains(errorOf(t, b), "already running") {
		t.Errorf("start running: %d %s", code, b)
	}
	if !alive(rec.PID, rec.StartTicks) {
		t.Errorf("a refused start stopped the process")
	}
	// With force: replaced.
	e.must(200, "POST", "/api/start", map[string]any{"name": "api", "command": "exec sleep 60",
		"directory": e.dir, "force": true}, &res)
	if res.Process.PID == rec.PID {
		t.Errorf("force kept the old pid")
	}
	waitFor(t, 5*time.Second, "the old process to end", func() bool { return !alive(rec.PID, rec.StartTicks) })

	// A process that fails in its startup window: 422 with its stderr.
	code, b = e.do("POST", "/api/start", map[string]any{"name": "bad", "command": "echo boom-42 >&2; exit 3",
		"directory": e.dir})
	if msg := errorOf(t, b); code != 422 || !strings.Contains(msg, "boom-42") || !strings.Contains(msg, "exit status 3") {
		t.Errorf("failed start: %d %s", code, b)
	}

	for _, c := range []struct {
		body, want string
	}{
		{`{"name": "x", "command": `, "bad JSON"},
		{`[1,2]`, "bad JSON"},
		{`{"name":"x","command":"sleep 1","directory":"/"} {}`, "more than one"},
		{`{"name":"","command":"sleep 1","directory":"/"}`, "empty"},
		{`{"name":"a/b","command":"sleep 1","directory":"/"}`, "invalid process name"},
		{`{"name":"x","command":" ","directory":"/"}`, "command is required"},
		{`{"name":"x","command":"sleep 1"}`, "directory is required"},
		{`{"name":"x","command":"sleep 1","directory":"rel/dir"}`, "absolute"},
		{`{"name":"x","command":"sleep 1","directory":"/nonexistent/dir"}`, "does not exist"},
		{`{"name":"x","command":"sleep 1","directory":"/","env":{"A=B":"1"}}`, "bad environment variable"},
		{`{"name":"bgr-dashboard","command":"sleep 1","directory":"/"}`, "dashboard itself"},
	} {
		code, b := e.do("POST", "/api/start", c.body)
		if code != 400 || !strings.Contains(errorOf(t, b), c.want) {
			t.Errorf("POST %s: %d %s, want 400 with %q", c.body, code, b, c.want)
		}
	}
	if _, err := e.db.Get("x"); err == nil {
		t.Errorf("a refused start made a record")
	}
}

// TestStartEscapesName checks that a name full of markup comes back as
// JSON-escaped text, never as markup.
func TestStartEscapesName(t *testing.T) {
	e := newEnv(t, "")
	code, b := e.do("POST", "/api/start", map[string]any{"name": "<script>alert(1)</script>",
		"command": "sleep 1", "directory": e.dir})
	if code != 400 || bytes.Contains(b, []byte("<script>")) || !bytes.Contains(b, []byte(`\u003cscript\u003e`)) {
		t.Errorf("%d %s", code, b)
	}
}

func TestStopRestartDelete(t *testing.T) {
	e := newEnv(t, "")
	rec := e.start("job", "exec sleep 60")
	var st struct {
		OK         bool `json:"ok"`
		WasRunning bool `json:"was_running"`
	}
	e.must(200, "POST", "/api/stop/job", nil, &st)
	if !st.OK || !st.WasRunning {
		t.Errorf("stop = %+v", st)
	}
	if alive(rec.PID, rec.StartTicks) {
		t.Fatalf("pid %d still runs after stop", rec.PID)
	}
	if p, err := ps.Get(context.Background(), e.db, "job"); err != nil || p.Running || p.Status != "stopped" {
		t.Errorf("after stop: %+v %v", p, err)
	}
	e.must(200, "POST", "/api/stop/job", nil, &st)
	if st.WasRunning {
		t.Errorf("second stop says it was running")
	}

	var rs struct {
		OK      bool     `json:"ok"`
		Process procJSON `json:"process"`
	}
	e.must(200, "POST", "/api/restart/job", nil, &rs)
	if !rs.OK || !rs.Process.Running || rs.Process.PID == rec.PID {
		t.Errorf("restart = %+v", rs)
	}
	if p, err := ps.Get(context.Background(), e.db, "job"); err != nil || !p.Running {
		t.Errorf("after restart: %+v %v", p, err)
	}
	e.must(200, "DELETE", "/api/processes/job", nil, &st)
	if !st.WasRunning {
		t.Errorf("delete = %+v", st)
	}
	if _, err := e.db.Get("job"); err == nil {
		t.Errorf("record kept after delete")
	}

	for _, c := range []struct{ method, path string }{
		{"POST", "/api/stop/nope"}, {"POST", "/api/restart/nope"}, {"DELETE", "/api/processes/nope"},
		{"DELETE", "/api/processes/job"}, {"GET", "/api/logs/nope"},
	} {
		code, b := e.do(c.method, c.path, nil)
		if code != 404 || !strings.Contains(errorOf(t, b), "no such process") {
			t.Errorf("%s %s: %d %s, want 404", c.method, c.path, code, b)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/stop/a%2Fb"}, {"POST", "/api/restart/..."}, {"POST", "/api/stop/" + Name},
		{"DELETE", "/api/processes/" + Name},
	} {
		if code, b := e.do(c.method, c.path, nil); code != 400 {
			t.Errorf("%s %s: %d %s, want 400", c.method, c.path, code, b)
		}
	}
}

// TestRestartFails checks that a restart whose process dies at once is a 422
// carrying the reason, not a success.
func TestRestartFails(t *testing.T) {
	e := newEnv(t, "")
	flag := filepath.Join(e.dir, "flag")
	os.WriteFile(flag, nil, 0o644)
	e.start("flaky", `if [ -e flag ]; then rm flag; exec sleep 60; fi; echo gone-wrong >&2; exit 7`)
	waitFor(t, 10*time.Second, "the first run to take the flag", func() bool {
		_, err := os.Stat(flag)
		return errors.Is(err, os.ErrNotExist)
	})
	code, b := e.do("POST", "/api/restart/flaky", nil)
	if msg := errorOf(t, b); code != 422 || !strings.Contains(msg, "gone-wrong") {
		t.Errorf("restart: %d %s", code, b)
	}
	if _, err := e.db.Get("flaky"); err != nil {
		t.Errorf("a failed restart lost the record: %v", err)
	}
}

func TestGuard(t *testing.T) {
	e := newEnv(t, "")
	e.start("g", "exec sleep 60")
	for _, c := range []struct {
		body string
		code int
	}{
		{`{"name":"g"`, 400}, {`{"name":"g"}`, 400}, {`{"enabled":true}`, 400},
		{`{"name":"nope","enabled":true}`, 404},
	} {
		if code, b := e.do("POST", "/api/guard", c.body); code != c.code {
			t.Errorf("guard %s: %d %s, want %d", c.body, code, b, c.code)
		}
	}
	// The guard itself belongs to the watch package: whatever it answers
	// is passed on honestly, an error as a 500 with its message.
	code, b := e.do("POST", "/api/guard", map[string]any{"name": "g", "enabled": false})
	switch code {
	case 200:
		var v struct {
			OK      bool `json:"ok"`
			Guarded bool `json:"guarded"`
		}
		e.must(200, "POST", "/api/guard", map[string]any{"name": "g", "enabled": false}, &v)
		if !v.OK || v.Guarded {
			t.Errorf("guard off = %+v", v)
		}
	case 500:
		errorOf(t, b)
	default:
		t.Errorf("guard: %d %s", code, b)
	}
}

func TestOriginChecks(t *testing.T) {
	e := newEnv(t, "tok")
	e.start("o", "exec sleep 60")
	auth := []string{"Authorization", "Bearer tok"}
	host := strings.TrimPrefix(e.ts.URL, "http://")
	for _, c := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"other origin", []string{"Origin", "http://evil.example"}, 403},
		{"other port", []string{"Origin", "http://127.0.0.1:1"}, 403},
		{"null origin", []string{"Origin", "null"}, 403},
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site fetch", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://a." + host}, 403},
		{"same-origin fetch but other Origin", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://evil.example"}, 403},
		{"same origin", []string{"Origin", e.ts.URL}, 200},
		{"same-origin fetch", []string{"Sec-Fetch-Site", "same-origin", "Origin", e.ts.URL}, 200},
		{"no browser headers (curl)", nil, 200},
	} {
		code, b := e.do("POST", "/api/stop/o", nil, append(c.hdr, auth...)...)
		if code != c.want {
			t.Errorf("%s: POST %d %s, want %d", c.name, code, b, c.want)
		}
		if code == 403 && !strings.Contains(errorOf(t, b), "cross-origin") {
			t.Errorf("%s: %s", c.name, b)
		}
	}
	for _, m := range []string{"DELETE", "PUT"} {
		if code, _ := e.do(m, "/api/processes/o", nil, "Origin", "http://evil.example", "Authorization", "Bearer tok"); code != 403 {
			t.Errorf("cross-origin %s: %d", m, code)
		}
	}
	// Reading is allowed from anywhere (the browser keeps the answer from
	// the other origin: no CORS headers are sent).
	code, _ := e.do("GET", "/api/processes", nil, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site", "Authorization", "Bearer tok")
	if code != 200 {
		t.Errorf("cross-origin GET: %d", code)
	}
	// Without a token, only names of this machine are answered: a DNS
	// rebinding page (evil.example resolving to 127.0.0.1) gets nothing.
	e = newEnv(t, "")
	for _, h := range []string{"evil.example", "evil.example:" + strings.Split(host, ":")[1], "10.0.0.1"} {
		code, b := e.do("GET", "/api/processes", nil, "Host", h)
		if code != 403 || !strings.Contains(errorOf(t, b), "token") {
			t.Errorf("Host %s: %d %s", h, code, b)
		}
	}
	for _, h := range []string{"localhost", "localhost:3000", "127.0.0.1:9", "[::1]:80", "bgrun.localhost"} {
		if code, b := e.do("GET", "/api/version", nil, "Host", h); code != 200 {
			t.Errorf("Host %s: %d %s", h, code, b)
		}
	}
}

// TestBehindProxy puts the dashboard behind a reverse proxy that keeps the
// public Host (as Caddy's reverse_proxy does): with a token everything
// works, and cross-origin writes are still refused.
func TestBehindProxy(t *testing.T) {
	e := newEnv(t, "tok")
	e.start("p", "exec sleep 60")
	target, _ := url.Parse(e.ts.URL)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
		r.SetXForwarded()
	}})
	defer proxy.Close()
	do := func(method, path string, hdr map[string]string) int {
		req, _ := http.NewRequest(method, proxy.URL+path, nil)
		req.Host = "bgrun.example.com"
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	tok := map[string]string{"X-Bgrun-Token": "tok"}
	if c := do("GET", "/api/processes", tok); c != 200 {
		t.Errorf("GET through proxy: %d", c)
	}
	if c := do("GET", "/?token=tok", nil); c != 200 {
		t.Errorf("page through proxy: %d", c)
	}
	same := map[string]string{"X-Bgrun-Token": "tok", "Origin": "https://bgrun.example.com", "Sec-Fetch-Site": "same-origin"}
	if c := do("POST", "/api/stop/p", same); c != 200 {
		t.Errorf("same-origin POST through proxy: %d", c)
	}
	cross := map[string]string{"X-Bgrun-Token": "tok", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	if c := do("POST", "/api/restart/p", cross); c != 403 {
		t.Errorf("cross-origin POST through proxy: %d", c)
	}
	if c := do("GET", "/api/processes", nil); c != 401 {
		t.Errorf("no token through proxy: %d", c)
	}
}

func TestToken(t *testing.T) {
	e := newEnv(t, "s3cret")
	e.srv.ownerUID = -1 // the token alone
	for _, c := range []struct {
		path string
		hdr  []string
		want int
	}{
		{"/api/version", nil, 401},
		{"/api/version", []string{"X-Bgrun-Token", "wrong"}, 401},
		{"/api/version?token=s3cre", nil, 401},
		{"/api/version?token=s3cret0", nil, 401},
		{"/api/version", []string{"X-Bgrun-Token", "s3cret"}, 200},
		{"/api/version?token=s3cret", nil, 401}, // the query opens the page only
		{"/api/version", []string{"Authorization", "Bearer s3cret"}, 200},
		{"/api/version", []string{"Authorization", "Bearer wrong"}, 401},
		{"/api/logs/x", nil, 401},
		{"/api/processes", []string{"X-Bgrun-Token", "s3cret"}, 200},
		{"/api/events", nil, 401},
		{"/", nil, 401},
		{"/?token=s3cret", nil, 200},
		{"/assets/app.js", nil, 401},
		// With a token, any Host is fine: the token is the protection.
		{"/api/version", []string{"X-Bgrun-Token", "s3cret", "Host", "bgrun.example.com"}, 200},
	} {
		code, b := e.do("GET", c.path, nil, c.hdr...)
		if code != c.want {
			t.Errorf("GET %s %v: %d %s, want %d", c.path, c.hdr, code, b, c.want)
		}
		if code == 401 && !strings.Contains(errorOf(t, b), "missing or wrong token: open the link") {
			t.Errorf("401 body %s", b)
		}
	}
	if code, _ := e.do("POST", "/api/stop/x", nil); code != 401 {
		t.Errorf("POST without token: %d", code)
	}
	if code, _ := e.do("POST", "/api/stop/x", nil, "X-Bgrun-Token", "s3cret"); code != 404 {
		t.Errorf("POST with token: %d", code)
	}
	b := e.must(200, "GET", "/?token=s3cret", nil, nil)
	if bytes.Contains(b, []byte(`s3cret`)) {
		t.Errorf("the page holds the token: %s", b)
	}
	req, _ := http.NewRequest("GET", e.ts.URL+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := &sseReader{res: res, br: bufio.NewReader(res.Body)}
	if list, err := r.next(); err != nil || list == nil {
		t.Errorf("events with token: %v %v", list, err)
	}
}

func TestLogs(t *testing.T) {
	e := newEnv(t, "")
	rec := e.start("lg", "exec sleep 60")
	content := "one\ntwo\n<script>alert(1)</script>\n"
	os.WriteFile(rec.StdoutPath, []byte(content), 0o644)
	os.WriteFile(rec.StderrPath, []byte("err line\n"), 0o644)

	var c logChunk
	b := e.must(200, "GET", "/api/logs/lg", nil, &c)
	if c.Text != content || c.Size != int64(len(content)) || c.Offset != 0 || c.MTime == nil || c.Path != rec.StdoutPath {
		t.Errorf("stdout = %+v", c)
	}
	if bytes.Contains(b, []byte("<script>")) || !bytes.Contains(b, []byte(`\u003cscript\u003e`)) {
		t.Errorf("log text not escaped: %s", b)
	}
	e.must(200, "GET", "/api/logs/lg?tab=stdout&offset=4", nil, &c)
	if c.Text != content[4:] || c.Offset != 4 {
		t.Errorf("offset 4 = %+v", c)
	}
	e.must(200, "GET", "/api/logs/lg?offset="+strconv.Itoa(len(content)), nil, &c)
	if c.Text != "" || c.Offset != int64(len(content)) || c.Size != int64(len(content)) {
		t.Errorf("offset at end = %+v", c)
	}
	e.must(200, "GET", "/api/logs/lg?offset=1000", nil, &c)
	if c.Text != "" || c.Offset != 1000 || c.Size != int64(len(content)) {
		t.Errorf("offset past end (truncated file) = %+v", c)
	}
	e.must(200, "GET", "/api/logs/lg?tab=stderr", nil, &c)
	if c.Text != "err line\n" || c.Path != rec.StderrPath {
		t.Errorf("stderr = %+v", c)
	}
	for _, q := range []string{"?tab=both", "?offset=-1", "?offset=abc", "?offset=1e3"} {
		if code, b := e.do("GET", "/api/logs/lg"+q, nil); code != 400 {
			t.Errorf("%s: %d %s", q, code, b)
		}
	}
	os.Remove(rec.StderrPath)
	b = e.must(200, "GET", "/api/logs/lg?tab=stderr", nil, &c)
	if c.Text != "" || c.Size != 0 || !bytes.Contains(b, []byte(`"mtime":null`)) {
		t.Errorf("missing file = %s", b)
	}

	// A big log: the first read gets at most the last 256 KiB, from a line
	// start, and says where it starts.
	var big bytes.Buffer
	for i := 0; big.Len() < 600<<10; i++ {
		big.WriteString(strings.Repeat("x", i%97) + " line " + strconv.Itoa(i) + "\n")
	}
	os.WriteFile(rec.StdoutPath, big.Bytes(), 0o644)
	for _, off := range []string{"0", "10"} { // 10: a reader far behind
		e.must(200, "GET", "/api/logs/lg?offset="+off, nil, &c)
		all := big.Bytes()
		if len(c.Text) > logWindow || len(c.Text) < logWindow-200 || c.Size != int64(len(all)) ||
			c.Offset != c.Size-int64(len(c.Text)) || all[c.Offset-1] != '\n' || c.Text != string(all[c.Offset:]) {
			t.Errorf("offset %s: got %d bytes from %d of %d", off, len(c.Text), c.Offset, c.Size)
		}
	}

	// A 1 GB (sparse) log is answered at once, never read whole.
	f, err := os.OpenFile(rec.StdoutPath, os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 30)
	f.WriteAt([]byte("\nthe last line\n"), 1<<30)
	f.Close()
	e.must(200, "GET", "/api/logs/lg", nil, &c)
	if c.Text != "the last line\n" || c.Offset != 1<<30+1 || c.Size != 1<<30+15 {
		t.Errorf("1 GB log: %d bytes from %d of %d", len(c.Text), c.Offset, c.Size)
	}
}

// TestReadLogWindow checks where a window starts: on a line boundary when
// one is in it, and at the window's start when the line is longer.
func TestReadLogWindow(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "log")
	for _, c := range []struct {
		content string
		window  int64
		want    string
	}{
		{"aaaa\nbbbb\ncccc\n", 10, "bbbb\ncccc\n"}, // the window starts exactly on a line
		{"aaaa\nbbbb\ncccc\n", 12, "bbbb\ncccc\n"}, // mid-line: skip to the next
		{"aaaa\nbbbb\ncccc\n", 6, "cccc\n"},
		{"aaaaaaaaaaaaaaaaaaaa", 5, "aaaaa"}, // no newline at all
		{"aaaaaaaaaaaaaaaaaa\nb", 5, "b"},
		{"short\n", 100, "short\n"},
	} {
		os.WriteFile(p, []byte(c.content), 0o644)
		got, err := readLog(p, 0, c.window)
		if err != nil || got.Text != c.want || got.Offset != int64(len(c.content)-len(c.want)) {
			t.Errorf("readLog(%q, window %d) = %+v, %v; want %q", c.content, c.window, got, err, c.want)
		}
	}
}

func TestHistory(t *testing.T) {
	e := newEnv(t, "")
	rec := e.start("h1", "exec sleep 60")
	e.start("h2", "exec sleep 60")
	if _, err := stop.Stop(context.Background(), e.db, "h1", stop.Options{Timeout: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	e.db.AddEvent(store.Event{Name: "h2", Event: "note", Detail: store.Detail{Reason: "<b>x</b>"}})
	var hs []store.Event
	e.must(200, "GET", "/api/history?name=h1", nil, &hs)
	if len(hs) != 2 || hs[0].Event != "stop" || hs[1].Event != "start" || hs[1].PID != rec.PID ||
		hs[0].Name != "h1" || hs[0].At.IsZero() || hs[1].Detail.Command != "exec sleep 60" {
		t.Errorf("h1 history = %+v", hs)
	}
	e.must(200, "GET", "/api/history", nil, &hs)
	if len(hs) != 4 || hs[0].Event != "note" || hs[0].Detail.Reason != "<b>x</b>" {
		t.Errorf("all history = %+v", hs)
	}
	e.must(200, "GET", "/api/history?limit=1", nil, &hs)
	if len(hs) != 1 {
		t.Errorf("limit 1 = %+v", hs)
	}
	e.must(200, "GET", "/api/history?limit=999999", nil, &hs)
	b := e.must(200, "GET", "/api/history?name=nobody", nil, &hs)
	if strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("unknown name = %s", b)
	}
	for _, q := range []string{"?limit=0", "?limit=-3", "?limit=x"} {
		if code, b := e.do("GET", "/api/history"+q, nil); code != 400 {
			t.Errorf("%s: %d %s", q, code, b)
		}
	}
	b = e.must(200, "GET", "/api/history?name=h2", nil, nil)
	if !bytes.Contains(b, []byte(`"metadata":{}`)) && !bytes.Contains(b, []byte(`"metadata":{"command"`)) {
		t.Errorf("metadata not an object: %s", b)
	}
}

func TestChildEnv(t *testing.T) {
	t.Setenv("BGR_PROCESS_NAME", Name)
	t.Setenv("BUN_PORT", "4000")
	t.Setenv(tokenEnv, "t")
	t.Setenv("KEEP_ME", "1")
	env := childEnv()
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "BGR_PROCESS_NAME" || k == "BUN_PORT" || k == tokenEnv {
			t.Errorf("child env has %s", kv)
		}
	}
	if !slices.Contains(env, "KEEP_ME=1") {
		t.Errorf("child env lost KEEP_ME")
	}
}

func TestHelpers(t *testing.T) {
	for h, want := range map[string]bool{"127.0.0.1": true, "localhost": true, "::1": true, "[::1]": true,
		"127.3.2.1": true, "app.localhost": true, "0.0.0.0": false, "example.com": false, "10.1.2.3": false, "": false} {
		if got := isLoopbackHost(h); got != want {
			t.Errorf("isLoopbackHost(%q) = %v", h, got)
		}
	}
	cmd := run.JoinArgs([]string{"/x y/bgrun", "--_serve", "--db", "/d", "--host", "::1"})
	if got := hostOf(cmd); got != "::1" {
		t.Errorf("hostOf(%q) = %q", cmd, got)
	}
	if got := hostOf("exec /bgrun --_serve"); got != defaultHost {
		t.Errorf("hostOf default = %q", got)
	}
	if got := dashURL("::1", 3000, "a b"); got != "http://[::1]:3000/?token=a+b" {
		t.Errorf("dashURL = %q", got)
	}
}

// TestPeerUser checks the way in without a token: a script of the owner's
// user on this machine (Linux only), and nobody else, no browser, no proxy.
func TestPeerUser(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the owner of a local connection is read from /proc/net/tcp")
	}
	e := newEnv(t, "tok")
	for _, c := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"script of the owner", nil, 200},
		{"browser", []string{"Sec-Fetch-Site", "none"}, 401},
		{"page of another site", []string{"Origin", "http://evil.example"}, 401},
		{"through a proxy", []string{"X-Forwarded-For", "203.0.113.9"}, 401},
		{"rebinding", []string{"Host", "evil.example"}, 401},
	} {
		if code, b := e.do("GET", "/api/processes", nil, c.hdr...); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, b, c.want)
		}
	}
	e.srv.ownerUID = os.Geteuid() + 1 // as if the dashboard were another user's
	if code, _ := e.do("GET", "/api/processes", nil); code != 401 {
		t.Errorf("a user that is not the owner: %d", code)
	}
}

func TestTokenFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	a, err := loadToken(dir)
	if err != nil || len(a) != 32 {
		t.Fatalf("LoadToken = %q, %v", a, err)
	}
	if b, err := loadToken(dir); err != nil || b != a {
		t.Fatalf("second LoadToken = %q, %v; want %q", b, err, a)
	}
	fi, err := os.Stat(store.TokenFile(dir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi.Mode(), err)
	}
	if err := saveToken(dir, "given"); err != nil {
		t.Fatal(err)
	}
	if b, _ := loadToken(dir); b != "given" {
		t.Fatalf("after SaveToken: %q", b)
	}
}
