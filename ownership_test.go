package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"bgrun/ps"
	"bgrun/store"
)

// openScriptDB opens the store of the running script.
func openScriptDB(ts *testscript.TestScript) *store.DB {
	db, err := store.Open(filepath.Join(ts.Getenv("HOME"), ".bgr", "bgr.sqlite"))
	ts.Check(err)
	return db
}

// cmdInterrupted leaves the store as a bgrun killed in the middle of a start
// leaves it: `interrupted NAME MARKER [PIDFILE]` writes NAME's record as
// starting with that marker and no pid, and with PIDFILE also spawns, in a
// session of its own, a sleeper that carries the marker (as if the kill came
// after the spawn and before the pid was written).
func cmdInterrupted(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: interrupted NAME MARKER [PIDFILE]")
	}
	db := openScriptDB(ts)
	defer db.Close()
	home := filepath.Join(ts.Getenv("HOME"), ".bgr")
	r := store.Record{Name: args[0], Command: "sleeper", Dir: ts.Getenv("WORK"), Status: store.StatusStarting,
		Instance: args[1], StdoutPath: filepath.Join(home, args[0]+"-out.txt"),
		StderrPath: filepath.Join(home, args[0]+"-err.txt")}
	ts.Check(db.Put(&r))
	if len(args) < 3 {
		return
	}
	cmd := exec.Command("sleeper", ts.MkAbs(args[2]))
	cmd.Env = []string{"PATH=" + ts.Getenv("PATH"), "HOME=" + ts.Getenv("HOME"),
		"BGR_TEST_TAG=" + ts.Getenv("BGR_TEST_TAG"), ps.MarkerVar + "=" + args[1]}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	ts.Check(cmd.Start())
	go cmd.Wait()
}

// cmdSetsup makes a record's stored supervisor pid stale: `setsup NAME
// PIDFILE reused` points it at the process in PIDFILE with another start
// time (a pid reused by another program); `setsup NAME PIDFILE thread` at a
// thread of that process that does not lead it, with the thread's own start
// time (pidfd_open fails there with ENOENT).
func cmdSetsup(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: setsup NAME PIDFILE reused|thread")
	}
	pid, ticks := readPidFile(ts, args[1])
	supPID, supTicks := pid, ticks+12345
	if args[2] == "thread" {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		ts.Check(err)
		supPID = 0
		for _, t := range tasks {
			if tid, _ := strconv.Atoi(t.Name()); tid != pid && tid > 0 {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
				ts.Check(err)
				f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
				supTicks, _ = strconv.ParseUint(f[19], 10, 64)
				supPID = tid
				break
			}
		}
		if supPID == 0 {
			ts.Fatalf("process %d has no second thread", pid)
		}
	}
	db := openScriptDB(ts)
	defer db.Close()
	_, err := db.Update(args[0], func(r *store.Record) error {
		r.SupervisorPID, r.SupervisorTicks = supPID, supTicks
		return nil
	})
	ts.Check(err)
}

// cmdMarked checks by marker the live processes of this script that carry
// one: `marked` wants each to belong to a record of its store, with that
// record's current marker; `marked none` wants none at all; `marked NAME...`
// also wants each NAME to have some.
func cmdMarked(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: marked [none | NAME...]")
	}
	db := openScriptDB(ts)
	defer db.Close()
	stray, lines := checkMarked(db, ts.Getenv("BGR_TEST_TAG"))
	ts.Logf("marked processes:\n%s", strings.Join(lines, "\n"))
	if len(stray) > 0 {
		ts.Fatalf("processes no record knows: %s", strings.Join(stray, "; "))
	}
	if len(args) == 1 && args[0] == "none" {
		if len(lines) > 0 {
			ts.Fatalf("marked processes still run")
		}
		return
	}
	for _, name := range args {
		found := false
		for _, l := range lines {
			found = found || strings.Fields(l)[1] == name
		}
		if !found {
			ts.Fatalf("no marked process of %s runs", name)
		}
	}
}

// checkMarked returns the live processes carrying a marker (and the tag
// BGR_TEST_TAG=tag) that no record of db owns, and a line per marker found.
func checkMarked(db *store.DB, tag string) (stray, lines []string) {
	recs, err := db.List()
	if err != nil {
		return []string{err.Error()}, nil
	}
	owner := map[string]string{}
	for _, r := range recs {
		if r.Instance != "" {
			owner[r.Instance] = r.Name
		}
	}
	t, err := ps.Snapshot()
	if err != nil {
		return []string{err.Error()}, nil
	}
	want := "BGR_TEST_TAG=" + tag + "\x00"
	for m, pids := range t.Marked() {
		var mine []string
		for _, p := range pids {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p))
			if err == nil && strings.Contains(string(b), want) {
				if q, ok := t.Get(p); ok && q.State != 'Z' {
					mine = append(mine, strconv.Itoa(p))
				}
			}
		}
		if len(mine) == 0 {
			continue
		}
		name, ok := owner[m]
		lines = append(lines, fmt.Sprintf("%s %s %s", m, name, strings.Join(mine, ",")))
		if !ok {
			stray = append(stray, fmt.Sprintf("%s (pids %s)", m, strings.Join(mine, ",")))
		}
	}
	sort.Strings(lines)
	return stray, lines
}

// lockHeld reports whether some process holds the lock of record name.
func lockHeld(ts *testscript.TestScript, name string) bool {
	db := openScriptDB(ts)
	defer db.Close()
	unlock, ok, err := db.TryLock(name)
	ts.Check(err)
	if ok {
		unlock()
	}
	return !ok
}

// holdStoreMain is the helper program holdstore (see TestMain).
func holdStoreMain() {
	db, err := store.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ms, _ := strconv.Atoi(os.Args[3])
	r := store.Record{Name: "holder", Command: "true", Dir: "/", Status: store.StatusStopped,
		StdoutPath: os.Args[2] + ".log", StderrPath: os.Args[2] + ".log"}
	if err := db.Put(&r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	db.Update("holder", func(*store.Record) error {
		os.WriteFile(os.Args[2], []byte("held\n"), 0o644)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return nil
	})
	os.Exit(0)
}
