//go:build unix

package dash

import (
	"context"
	"os"
	"slices"
	"testing"

	"bgrun/run"
)

// TestBrowserStackGroup checks that the page lists a stack's processes (one
// group, BGR_GROUP, as `bgrun up` sets it) under the stack's name, and a
// process without a group under its directory.
func TestBrowserStackGroup(t *testing.T) {
	e := newEnv(t, browserToken)
	for _, name := range []string{"db", "api"} {
		if _, err := run.Request(context.Background(), e.db, run.Options{Name: name, Command: "exec sleep 60", Dir: e.dir, Home: e.home,
			Env: os.Environ(), Set: []string{"BGR_GROUP=shop"}, Grace: -1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.start("loose", "exec sleep 60")
	b := newBrowser(t, browserOptions{width: 1280, height: 900})
	b.open(e.ts.URL + "/?token=" + browserToken)
	b.until("three rows", func() bool { return len(b.findAll("tr.proc-row")) == 3 })
	head := `tr.group-row[data-dir="group:shop"]`
	b.wait(head)
	if got := b.textOf(head + " .group-path"); got != "shop" {
		t.Errorf("the stack's heading says %q, want shop", got)
	}
	var order []string
	b.js(&order, `return [...document.querySelectorAll('#proc-table tbody tr')].map(
		(tr) => tr.dataset.dir !== undefined ? 'head:' + tr.dataset.dir : tr.dataset.name);`)
	want := []string{"head:group:shop", "api", "db", "head:" + e.dir, "loose"}
	if !slices.Equal(order, want) {
		t.Errorf("rows %q, want %q", order, want)
	}
	pageOK(t, b)
}
