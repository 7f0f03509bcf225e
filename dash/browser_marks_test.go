//go:build unix

package dash

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"bgrun/run"
)

// TestBrowserDrawerRunSeparators: the log drawer shows a separator line
// between two runs, on loading and while following a restart.
func TestBrowserDrawerRunSeparators(t *testing.T) {
	e := newEnv(t, browserToken)
	rec := e.start("runs", "echo hello; exec sleep 60")
	restart := func(n int) {
		t.Helper()
		if _, err := run.Request(context.Background(), e.db, run.Options{Name: "runs", Restart: true, Home: e.home, Grace: -1}, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the output of the new run", func() bool {
			b, _ := os.ReadFile(rec.StdoutPath)
			return strings.Count(string(b), "hello") == n
		})
	}
	restart(2)
	b := newBrowser(t, browserOptions{width: 1280, height: 900})
	b.open(e.ts.URL + "/?token=" + browserToken)
	b.click(b.wait(rowCSS("runs") + " td.name-cell"))
	lines := func() []string {
		var l []string
		b.js(&l, `return [...document.querySelectorAll('#log-lines .log-line')].map(e => (e.classList.contains('log-sep') ? 'SEP ' : '') + e.querySelector('.lt').textContent);`)
		return l
	}
	b.until("hello, a separator, hello", func() bool { return len(lines()) == 3 })
	if l := lines(); l[0] != "hello" || !strings.HasPrefix(l[1], "SEP ── restarted ") || l[2] != "hello" {
		t.Errorf("drawer lines %q", l)
	}
	restart(3) // the drawer follows: the next run comes with its separator
	b.until("a second separator", func() bool { return len(lines()) == 5 })
	if l := lines(); !strings.HasPrefix(l[3], "SEP ── restarted ") || l[4] != "hello" {
		t.Errorf("drawer lines after a restart %q", l)
	}
	pageOK(t, b)
}
