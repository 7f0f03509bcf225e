//go:build unix

package dash

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bgrun/ps"
)

// rowCSS selects the table row of a process.
func rowCSS(name string) string { return fmt.Sprintf(`tr.proc-row[data-name="%s"]`, name) }

// pageOK fails the test if the page showed an error or the
// Content-Security-Policy blocked anything.
func pageOK(t *testing.T, b *browser) {
	t.Helper()
	if els := b.findAll("#toasts .toast.error"); len(els) > 0 {
		t.Errorf("error toast: %s", b.textOf("#toasts .toast.error"))
	}
	var blocked []string
	b.js(&blocked, `return window.__csp;`)
	if len(blocked) > 0 {
		t.Errorf("the Content-Security-Policy blocked: %q", blocked)
	}
}

// browserToken is the dashboard's token in browser tests: the browser logs
// in with the link `bgrun --dashboard` prints, as a user does.
const browserToken = "browser-login-token"

// TestBrowserStopAndLiveUpdates clicks Stop in the page and checks the
// process is really gone and the row says so without a reload; then a
// process started from outside appears by itself.
func TestBrowserStopAndLiveUpdates(t *testing.T) {
	e := newEnv(t, browserToken)
	rec := e.start("web", "exec sleep 60")
	b := newBrowser(t, browserOptions{width: 1280, height: 900})
	b.open(e.ts.URL + "/?token=" + browserToken)
	b.until("web running", func() bool { return b.textOf(rowCSS("web")+" .status") == "Running" })
	// Logged in: the token left the address bar, and the cookie that holds
	// it is out of the page's reach.
	var where string
	b.js(&where, `return location.href + ' ' + document.cookie;`)
	if strings.Contains(where, browserToken) || !strings.HasSuffix(strings.TrimSpace(where), "/") {
		t.Errorf("after login the page shows %q", where)
	}
	var marker bool
	b.js(&marker, `window.__noReload = true; return true;`)

	b.click(b.wait(rowCSS("web") + " button.act-stop"))
	b.until("web stopped", func() bool { return b.textOf(rowCSS("web")+" .status") == "Stopped" })
	if alive(rec.PID, rec.StartTicks) {
		t.Fatalf("pid %d still runs after Stop in the page", rec.PID)
	}
	if p, err := ps.Get(context.Background(), e.db, "web"); err != nil || p.Running || p.Status != "stopped" {
		t.Errorf("after Stop: %+v, %v", p, err)
	}
	if b.js(&marker, `return window.__noReload === true;`); !marker {
		t.Errorf("the page reloaded")
	}
	b.wait(rowCSS("web") + " button.act-start")

	// Started from outside, like `bgrun --name ext ...` in a shell.
	e.start("ext", "exec sleep 60")
	b.until("ext running", func() bool { return b.textOf(rowCSS("ext")+" .status") == "Running" })
	if b.js(&marker, `return window.__noReload === true;`); !marker {
		t.Errorf("the page reloaded")
	}
	pageOK(t, b)
}

// TestBrowserDrawerLogs opens a process's drawer, reads its log, filters it,
// and checks that markup in a log line stays text.
func TestBrowserDrawerLogs(t *testing.T) {
	e := newEnv(t, browserToken)
	rec := e.start("logger", `printf 'alpha one\nbeta two\n<script>window.__xss=1</script>\n<img src=x onerror="window.__xss=2">\n'; exec sleep 60`)
	waitFor(t, 5*time.Second, "the log", func() bool {
		b, _ := os.ReadFile(rec.StdoutPath)
		return strings.Count(string(b), "\n") == 4
	})
	b := newBrowser(t, browserOptions{width: 1280, height: 900})
	b.open(e.ts.URL + "/?token=" + browserToken)
	b.click(b.wait(rowCSS("logger") + " td.name-cell"))
	b.until("the drawer", func() bool {
		var open bool
		b.js(&open, `return document.querySelector('#drawer').classList.contains('open');`)
		return open
	})
	b.until("four log lines", func() bool { return len(b.findAll("#log-lines .log-line")) == 4 })
	var lines []string
	b.js(&lines, `return [...document.querySelectorAll('#log-lines .log-line .lt')].map(e => e.textContent);`)
	want := []string{"alpha one", "beta two", "<script>window.__xss=1</script>", `<img src=x onerror="window.__xss=2">`}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("log lines %q, want %q", lines, want)
	}
	var xss string
	b.js(&xss, `return String(window.__xss) + '/' + document.querySelectorAll('#log-lines script, #log-lines img').length;`)
	if xss != "undefined/0" {
		t.Errorf("markup in the log ran or became elements: %s", xss)
	}
	if txt := b.textOf("#log-lines"); !strings.Contains(txt, "<script>window.__xss=1</script>") {
		t.Errorf("the script line is not visible as text: %q", txt)
	}

	b.typeInto(b.wait("#log-search"), "beta")
	b.until("the filter", func() bool { return len(b.findAll("#log-lines .log-line")) == 1 })
	if txt := b.textOf("#log-lines .log-line"); !strings.Contains(txt, "beta two") {
		t.Errorf("filtered line = %q", txt)
	}
	b.click(b.wait("#drawer button.tab-stderr"))
	b.until("the empty stderr", func() bool { return len(b.findAll("#log-lines .log-line")) == 0 })
	b.click(b.wait("#drawer button.tab-stdout"))
	pageOK(t, b)
}

// TestBrowserFailedRestart checks that a failed action is reported in the
// page with the real reason, not as a success.
func TestBrowserFailedRestart(t *testing.T) {
	e := newEnv(t, browserToken)
	os.WriteFile(filepath.Join(e.dir, "flag"), nil, 0o644)
	e.start("flaky", `if [ -e flag ]; then rm flag; exec sleep 60; fi; echo no-database-here >&2; exit 7`)
	b := newBrowser(t, browserOptions{width: 1280, height: 900})
	b.open(e.ts.URL + "/?token=" + browserToken)
	b.click(b.wait(rowCSS("flaky") + " button.act-restart"))
	b.until("an error toast", func() bool { return len(b.findAll("#toasts .toast.error")) > 0 })
	if msg := b.textOf("#toasts .toast.error"); !strings.Contains(msg, "no-database-here") {
		t.Errorf("toast = %q", msg)
	}
}

// demo starts a small, varied set of processes for the screenshots.
func demo(t *testing.T, e *env) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv := filepath.Join(t.TempDir(), "srv")
	api := filepath.Join(srv, "api")
	web := filepath.Join(srv, "web")
	for _, d := range []string{api, web} {
		os.MkdirAll(d, 0o755)
		script := fmt.Sprintf("#!/bin/sh\nexec env BGRUN_DASH_HELPER=listen BGRUN_DASH_ARG=$1 '%s'\n", exe)
		os.WriteFile(filepath.Join(d, "server"), []byte(script), 0o755)
	}
	port := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	e.dir = api
	e.start("api", "./server "+port())
	e.start("worker", `while true; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo "batch done"; sleep 0.5; done`)
	e.start("api-cron", "sleep 600")
	e.dir = web
	e.start("web", "./server "+port())
	e.start("assets-watch", "sleep 600")
	e.start("old-build", "sleep 600")
	if _, err := stopProcess(e, "old-build"); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserScreenshots shows the desktop table and the phone cards, and
// saves both as PNGs (under testdata/ with BGRUN_UPDATE_SCREENSHOT=1).
func TestBrowserScreenshots(t *testing.T) {
	e := newEnv(t, browserToken)
	demo(t, e)
	// A few seconds of samples, so the sparklines have a shape.
	waitFor(t, 10*time.Second, "samples", func() bool {
		f, err := e.srv.sampler.current(0)
		if err != nil {
			return false
		}
		return strings.Count(string(f.json), `"memory_history":[`) == 6 && e.srv.sampler.points("worker") >= 4
	})

	t.Run("desktop", func(t *testing.T) {
		b := newBrowser(t, browserOptions{width: 1280, height: 900})
		b.open(e.ts.URL + "/?token=" + browserToken)
		b.until("all rows", func() bool { return len(b.findAll("tr.proc-row[data-name]")) == 6 })
		b.until("the api port", func() bool { return strings.TrimSpace(b.textOf(rowCSS("api")+" td.ports")) != "–" })
		var shown bool
		b.js(&shown, `return getComputedStyle(document.querySelector('#proc-table')).display !== 'none' &&
			getComputedStyle(document.querySelector('#proc-cards')).display === 'none';`)
		if !shown {
			t.Errorf("desktop layout does not show the table alone")
		}
		pageOK(t, b)
		t.Logf("saved %s", b.screenshot("dashboard-desktop.png"))
	})
	t.Run("phone", func(t *testing.T) {
		b := newBrowser(t, browserOptions{width: 390, height: 844, phone: true})
		b.open(e.ts.URL + "/?token=" + browserToken)
		b.until("all cards", func() bool { return len(b.findAll(".proc-card[data-name]")) == 6 })
		var layout string
		b.js(&layout, `return window.innerWidth + ' ' +
			getComputedStyle(document.querySelector('#proc-table')).display + ' ' +
			(document.querySelector('.proc-card[data-name="api"]').offsetParent !== null);`)
		if layout != "390 none true" {
			t.Errorf("phone layout: width, table display, card shown = %q", layout)
		}
		pageOK(t, b)
		t.Logf("saved %s", b.screenshot("dashboard-phone.png"))
	})
}
