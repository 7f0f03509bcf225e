//go:build unix

package dash

// A small WebDriver client over net/http and encoding/json, enough to drive
// headless Chromium through chromedriver: sessions, navigation, CSS
// lookups, clicks, typing, scripts, window size and screenshots.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bgrun/ps"
)

// elementKey names a web element in WebDriver answers.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// chromiumArgs are the flags every browser gets (see the machine notes).
var chromiumArgs = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync"}

// browser is one chromedriver with one session.
type browser struct {
	t       *testing.T
	base    string // chromedriver's URL
	session string
	client  *http.Client
}

// browserOptions shape a session.
type browserOptions struct {
	width, height int
	// phone emulates a phone screen of width×height CSS pixels at 2×.
	phone bool
	// initScript runs in every page before its own scripts.
	initScript string
}

// newBrowser starts chromedriver and a headless Chromium session, both
// ended at cleanup; it skips the test when either is not installed.
func newBrowser(t *testing.T, o browserOptions) *browser {
	t.Helper()
	driver, err1 := exec.LookPath("chromedriver")
	chromium, err2 := exec.LookPath("chromium")
	if err1 != nil || err2 != nil {
		t.Skip("install chromium and chromium-driver (apt-get install chromium chromium-driver)")
	}
	cmd := exec.Command(driver, "--port=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	portc := make(chan int, 1)
	go func() {
		re := regexp.MustCompile(`started successfully on port (\d+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				p, _ := strconv.Atoi(m[1])
				portc <- p
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	var port int
	select {
	case port = <-portc:
	case <-time.After(20 * time.Second):
		t.Fatal("chromedriver did not say its port")
	}
	b := &browser{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), client: &http.Client{Timeout: 60 * time.Second}}
	profile := t.TempDir()
	args := append([]string{}, chromiumArgs...)
	args = append(args, "--user-data-dir="+profile)
	opts := map[string]any{"binary": chromium, "args": args}
	if o.phone {
		opts["mobileEmulation"] = map[string]any{
			"deviceMetrics": map[string]any{"width": o.width, "height": o.height, "pixelRatio": 2, "touch": true},
			"userAgent":     "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36",
		}
	} else {
		args = append(args, fmt.Sprintf("--window-size=%d,%d", o.width, o.height))
		opts["args"] = args
	}
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome", "goog:chromeOptions": opts}}}
	if err := b.call("POST", "/session", caps, &sess); err != nil {
		t.Fatalf("new session: %v", err)
	}
	b.session = sess.SessionID
	t.Cleanup(func() {
		if err := b.call("DELETE", "/session/"+b.session, nil, nil); err != nil {
			t.Logf("delete session: %v", err)
		}
		killProfile(profile)
	})
	// Every page notes what the Content-Security-Policy blocked.
	script := `window.__csp = []; document.addEventListener('securitypolicyviolation',
		(e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));` + o.initScript
	err = b.call("POST", b.s("/goog/cdp/execute"), map[string]any{
		"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": map[string]any{"source": script}}, nil)
	if err != nil {
		t.Fatalf("init script: %v", err)
	}
	return b
}

// killProfile kills any browser process left on the test's profile folder:
// chromedriver's browsers are reparented to init and outlive it.
func killProfile(profile string) {
	t, err := ps.Snapshot()
	if err != nil {
		return
	}
	for _, pid := range t.PIDs() {
		if strings.Contains(ps.Cmdline(pid), profile) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func (b *browser) s(path string) string { return "/session/" + b.session + path }

// call sends one WebDriver command and decodes its "value" into v.
func (b *browser) call(method, path string, body, v any) error {
	var r io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if res.StatusCode != 200 {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		json.Unmarshal(env.Value, &e)
		return fmt.Errorf("%s %s: %s: %s", method, path, e.Error, firstLine(e.Message))
	}
	if v != nil {
		return json.Unmarshal(env.Value, v)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (b *browser) open(url string) {
	b.t.Helper()
	if err := b.call("POST", b.s("/url"), map[string]any{"url": url}, nil); err != nil {
		b.t.Fatal(err)
	}
}

// findAll returns the ids of the elements matching css; none is no error.
func (b *browser) findAll(css string) []string {
	b.t.Helper()
	var els []map[string]string
	if err := b.call("POST", b.s("/elements"), map[string]any{"using": "css selector", "value": css}, &els); err != nil {
		b.t.Fatal(err)
	}
	ids := make([]string, len(els))
	for i, e := range els {
		ids[i] = e[elementKey]
	}
	return ids
}

// wait polls for an element matching css, then returns it.
func (b *browser) wait(css string) string {
	b.t.Helper()
	var id string
	b.until("an element "+css, func() bool {
		if els := b.findAll(css); len(els) > 0 {
			id = els[0]
			return true
		}
		return false
	})
	return id
}

// until polls cond for up to ten seconds.
func (b *browser) until(what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// textOf returns the rendered text of the first element matching css, ""
// when there is none.
func (b *browser) textOf(css string) string {
	b.t.Helper()
	els := b.findAll(css)
	if len(els) == 0 {
		return ""
	}
	var s string
	if err := b.call("GET", b.s("/element/"+els[0]+"/text"), nil, &s); err != nil {
		return "" // it went stale between the two calls
	}
	return s
}

func (b *browser) click(id string) {
	b.t.Helper()
	if err := b.call("POST", b.s("/element/"+id+"/click"), map[string]any{}, nil); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) typeInto(id, text string) {
	b.t.Helper()
	if err := b.call("POST", b.s("/element/"+id+"/value"), map[string]any{"text": text}, nil); err != nil {
		b.t.Fatal(err)
	}
}

// js runs script (a function body; arguments in `arguments`) and decodes
// its result into v.
func (b *browser) js(v any, script string, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	if err := b.call("POST", b.s("/execute/sync"), map[string]any{"script": script, "args": args}, v); err != nil {
		b.t.Fatal(err)
	}
}

// screenshot saves the viewport as a PNG: under testdata/ of the module
// when BGRUN_UPDATE_SCREENSHOT=1, else in the test's temp folder.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	var s string
	if err := b.call("GET", b.s("/screenshot"), nil, &s); err != nil {
		b.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b.t.Fatal(err)
	}
	dir := b.t.TempDir()
	if os.Getenv("BGRUN_UPDATE_SCREENSHOT") == "1" {
		dir = filepath.Join("..", "testdata")
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}
