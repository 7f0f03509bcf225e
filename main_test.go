//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"bgrun/ps"
	"bgrun/stop"
	"bgrun/store"
)

// TestMain registers bgrun itself and the small helper programs the scripts
// manage: real processes, not mocks.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bgrun": main,
		"bgr":   main,
		// sigignore ignores SIGTERM, so only SIGKILL ends it.
		"sigignore": func() {
			signal.Ignore(syscall.SIGTERM)
			writePidFile(os.Args[1:])
			select {}
		},
		// trapterm writes "terminated" to its file when SIGTERM arrives.
		"trapterm": func() {
			c := make(chan os.Signal, 1)
			signal.Notify(c, syscall.SIGTERM)
			writePidFile(os.Args[1:2])
			<-c
			os.WriteFile(os.Args[2], []byte("terminated\n"), 0o644)
			os.Exit(0)
		},
		// sleeper runs until killed, writing "PID TICKS" to its pid file.
		"sleeper": func() {
			writePidFile(os.Args[1:])
			select {}
		},
		// spawntree DIR N starts N sleepers as its children, each of which
		// starts one grandchild sleeper; every pid file lands in DIR.
		"spawntree": func() {
			dir := os.Args[1]
			n, _ := strconv.Atoi(os.Args[2])
			writePidFile([]string{filepath.Join(dir, "root.pid")})
			for i := range n {
				cmd := exec.Command("sh", "-c", fmt.Sprintf("sleeper %s/grand%d.pid & exec sleeper %s/child%d.pid",
					dir, i, dir, i))
				if err := cmd.Start(); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
			select {}
		},
		// client-of PORTFILE PIDFILE connects to the port in PORTFILE and
		// stays connected: a client, which no port cleanup may kill.
		"client-of": func() {
			b, _ := os.ReadFile(os.Args[1])
			c, err := net.Dial("tcp", "127.0.0.1:"+strings.TrimSpace(string(b)))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			defer c.Close()
			writePidFile(os.Args[2:])
			select {}
		},
		// holdstore DB READYFILE MS holds the store's write lock for MS
		// milliseconds, as another writer may, and writes READYFILE once it
		// holds it.
		"holdstore": holdStoreMain,
		// failfast writes its arguments to stderr and exits with status 3.
		"failfast": func() {
			fmt.Fprintln(os.Stderr, strings.Join(os.Args[1:], " "))
			os.Exit(3)
		},
		// slowlisten DELAY PORTFILE waits DELAY (a Go duration), then
		// listens on a free port of 127.0.0.1 and writes it to PORTFILE: a
		// server that becomes ready some time after it starts.
		"slowlisten": func() {
			d, _ := time.ParseDuration(os.Args[1])
			time.Sleep(d)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			port := ln.Addr().(*net.TCPAddr).Port
			os.WriteFile(os.Args[2]+".tmp", []byte(strconv.Itoa(port)), 0o644)
			os.Rename(os.Args[2]+".tmp", os.Args[2])
			for {
				c, err := ln.Accept()
				if err != nil {
					os.Exit(1)
				}
				go func() { fmt.Fprintln(c, "hello"); bufio.NewReader(c).ReadString('\n') }()
			}
		},
		// dialer PORTFILE PIDFILE waits up to 10s for the port in PORTFILE to
		// accept a connection, then writes its pid file and stays connected:
		// a client of a server it depends on. It exits 1 if it never could.
		"dialer": func() {
			deadline := time.Now().Add(10 * time.Second)
			for {
				b, _ := os.ReadFile(os.Args[1])
				if port := strings.TrimSpace(string(b)); port != "" {
					if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
						defer c.Close()
						break
					}
				}
				if time.Now().After(deadline) {
					fmt.Fprintln(os.Stderr, "dialer: nothing to connect to")
					os.Exit(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
			writePidFile(os.Args[2:])
			select {}
		},
		// listen ADDR PORTFILE listens on ADDR (host:port, port 0 for any),
		// writes the port to PORTFILE and serves "hello" to every client.
		"listen": func() {
			ln, err := net.Listen("tcp", os.Args[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			port := ln.Addr().(*net.TCPAddr).Port
			os.WriteFile(os.Args[2]+".tmp", []byte(strconv.Itoa(port)), 0o644)
			os.Rename(os.Args[2]+".tmp", os.Args[2])
			for {
				c, err := ln.Accept()
				if err != nil {
					os.Exit(1)
				}
				go func() { fmt.Fprintln(c, "hello"); bufio.NewReader(c).ReadString('\n') }()
			}
		},
		// chatter TOTAL NAME DONEFILE writes TOTAL bytes of numbered
		// 100-byte lines to stdout, in batches of 4 MB and 600 KB, and runs
		// `bgrun logs NAME` after each, which rotates its logs; then it writes the
		// number of its last line to DONEFILE and waits.
		"chatter": func() {
			total, _ := strconv.ParseInt(os.Args[1], 10, 64)
			line := []byte("000000000 " + strings.Repeat("x", 89) + "\n")
			buf := make([]byte, 0, 64<<10)
			var written int64
			n := 0
			for b := 0; written < total; b++ {
				limit := min(total, written+[]int64{4 << 20, 600 << 10}[b%2])
				for written < limit {
					for i, v := 8, n; i >= 0; i, v = i-1, v/10 {
						line[i] = byte('0' + v%10)
					}
					buf = append(buf, line...)
					written += int64(len(line))
					n++
					if len(buf)+len(line) > cap(buf) || written >= limit {
						if _, err := os.Stdout.Write(buf); err != nil {
							os.Exit(1)
						}
						buf = buf[:0]
					}
				}
				// `bgrun logs` touches the record, so it rotates its logs.
				if err := exec.Command("bgrun", "logs", os.Args[2], "--lines", "1").Run(); err != nil {
					fmt.Fprintln(os.Stderr, "bgrun:", err)
					os.Exit(1)
				}
			}
			os.WriteFile(os.Args[3]+".tmp", []byte(strconv.Itoa(n-1)), 0o644)
			os.Rename(os.Args[3]+".tmp", os.Args[3])
			select {}
		},
		// growmem MB [PIDFILE] grows its RSS by 4 MB every 100 ms up to MB
		// megabytes, then holds it.
		"growmem": func() {
			mb, _ := strconv.Atoi(os.Args[1])
			writePidFile(os.Args[2:])
			var held [][]byte
			for n := 0; n < mb; n += 4 {
				b := make([]byte, 4<<20)
				for i := range b {
					b[i] = 1
				}
				held = append(held, b)
				time.Sleep(100 * time.Millisecond)
			}
			for {
				time.Sleep(time.Hour)
				runtime.KeepAlive(held)
			}
		},
		// httpready PORT FLAGFILE [PIDFILE] serves HTTP on 127.0.0.1:PORT at
		// once, answering 503 until FLAGFILE exists, then 200; "-" for
		// FLAGFILE answers 200 at once.
		"httpready": func() {
			flag := os.Args[2]
			writePidFile(os.Args[3:])
			err := http.ListenAndServe("127.0.0.1:"+os.Args[1], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := os.Stat(flag); flag != "-" && err != nil {
					http.Error(w, "warming up", http.StatusServiceUnavailable)
					return
				}
				fmt.Fprintln(w, "ok")
			}))
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		},
	})
}

// writePidFile writes "PID TICKS" to the file named by args[0], if any, so a
// script can later check that exactly this process is gone.
func writePidFile(args []string) {
	if len(args) == 0 {
		return
	}
	p, _ := ps.Read(os.Getpid())
	tmp := args[0] + ".tmp"
	os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", os.Getpid(), p.StartTicks)), 0o644)
	os.Rename(tmp, args[0])
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfor": cmdWaitfor,
			"gone":    cmdGone,
			"setpid":  cmdSetpid,
			"environ": cmdEnviron,
			"httpreq": cmdHTTP,
			"reboot":  cmdReboot,
			// Ownership (issue 10).
			"interrupted": cmdInterrupted,
			"setsup":      cmdSetsup,
			"marked":      cmdMarked,
			"sups":        cmdSupervisors,
			"freeport":    cmdFreeport,
			"checklog":    cmdChecklog,
			"checkseq":    cmdCheckseq,
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "docker":
				return dockerAvailable(), nil
			case "systemd":
				return systemdRunning(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// dockerAvailable reports whether a Docker daemon answers and the local test
// image bgr-test:latest exists (.ci/docker.sh makes both).
var dockerAvailable = sync.OnceValue(func() bool {
	return exec.Command("docker", "image", "inspect", "bgr-test:latest").Run() == nil
})

// setupScript gives every script its own home folder and a tag in the
// environment of everything it starts, and registers a cleanup that stops
// every process in its store and then kills anything still carrying the tag.
func setupScript(e *testscript.Env) error {
	home := filepath.Join(e.WorkDir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	tag := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	e.Setenv("HOME", home)
	e.Setenv("BGR_TEST_TAG", tag)
	e.Setenv("NO_COLOR", "1")
	e.Setenv("BGR_STOP_TIMEOUT", "3s")
	e.Defer(func() {
		if f, ok := e.T().(interface{ Failed() bool }); ok && f.Failed() {
			// What the supervisor saw explains most failures; CI keeps nothing else.
			if b, err := os.ReadFile(filepath.Join(home, ".bgr", "bgr-supervisor.txt")); err == nil {
				if len(b) > 6000 {
					b = b[len(b)-6000:]
				}
				e.T().Log("the supervisor's log (its end):\n" + string(b))
			}
		}
		if db, err := store.Open(filepath.Join(home, ".bgr", "bgr.sqlite")); err == nil {
			stop.Nuke(context.Background(), db, stop.Options{Timeout: time.Second})
			db.Close()
		}
		sweep(tag)
		if dockerAvailable() {
			// Containers a script named after its tag.
			out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name="+tag).Output()
			if ids := strings.Fields(string(out)); len(ids) > 0 {
				exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
			}
		}
	})
	return nil
}

// sweep SIGKILLs every process whose environment holds BGR_TEST_TAG=tag:
// whatever a script started and bgrun did not stop. It returns them.
func sweep(tag string) []ps.Proc {
	want := []byte("BGR_TEST_TAG=" + tag + "\x00")
	t, err := ps.Snapshot()
	if err != nil {
		return nil
	}
	var killed []ps.Proc
	for _, pid := range t.PIDs() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err == nil && bytes.Contains(b, want) && pid != os.Getpid() {
			if p, ok := ps.Read(pid); ok && syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed = append(killed, p)
			}
		}
	}
	return killed
}

// readPidFile reads "PID TICKS" from a pid file written by a helper.
func readPidFile(ts *testscript.TestScript, name string) (int, uint64) {
	var pid int
	var ticks uint64
	if _, err := fmt.Sscan(ts.ReadFile(name), &pid, &ticks); err != nil {
		ts.Fatalf("pid file %s: %v", name, err)
	}
	return pid, ticks
}

// cmdGone checks that the processes named by pid files no longer run:
// missing, a zombie, or a different process under a reused pid all count.
// With ! it checks that they do run.
func cmdGone(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		pid, ticks := readPidFile(ts, f)
		p, ok := ps.Read(pid)
		alive := ok && p.State != 'Z' && p.StartTicks == ticks
		if alive && !neg {
			ts.Fatalf("process %d (%s) still runs", pid, f)
		}
		if !alive && neg {
			ts.Fatalf("process %d (%s) does not run", pid, f)
		}
	}
}

// cmdWaitfor polls for up to 10 seconds until a condition holds:
//
//	waitfor file PATH          the file exists and is not empty
//	waitfor contains PATH TEXT the file contains TEXT
//	waitfor count PATH TEXT N  the file contains TEXT at least N times
//	waitfor gone PIDFILE       the process is gone
//	waitfor free PORTFILE      nothing listens on the port in the file
//	waitfor json NAME KEY VAL  `bgrun NAME --json` has KEY equal to VAL
//	waitfor locked NAME        someone holds the lock of record NAME
//	waitfor stored NAME STATUS record NAME's stored status is STATUS
//
// `waitfor -t DURATION ...` waits up to DURATION instead.
func cmdWaitfor(ts *testscript.TestScript, neg bool, args []string) {
	timeout := 10 * time.Second
	if len(args) > 2 && args[0] == "-t" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		timeout, args = d, args[2:]
	}
	if neg || len(args) < 2 {
		ts.Fatalf("usage: waitfor file|contains|gone|free ARGS")
	}
	check := func() bool {
		switch args[0] {
		case "file":
			fi, err := os.Stat(ts.MkAbs(args[1]))
			return err == nil && fi.Size() > 0
		case "contains":
			b, _ := os.ReadFile(ts.MkAbs(args[1]))
			return bytes.Contains(b, []byte(args[2]))
		case "count":
			b, _ := os.ReadFile(ts.MkAbs(args[1]))
			n, _ := strconv.Atoi(args[3])
			return bytes.Count(b, []byte(args[2])) >= n
		case "gone":
			pid, ticks := readPidFile(ts, args[1])
			p, ok := ps.Read(pid)
			return !ok || p.State == 'Z' || p.StartTicks != ticks
		case "json":
			return jsonField(ts, args[1], args[2]) == args[3]
		case "stored":
			return storedStatus(ts, args[1]) == args[2]
		case "locked":
			return lockHeld(ts, args[1])
		case "free":
			port := strings.TrimSpace(ts.ReadFile(args[1]))
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 200*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err != nil
		}
		ts.Fatalf("unknown waitfor condition %q", args[0])
		return false
	}
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			ts.Fatalf("timed out waiting for %s", strings.Join(args, " "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdEnviron checks the environment of a record's running process, read
// from /proc/PID/environ: `environ NAME KEY=VALUE...` wants each pair there,
// `! environ NAME KEY...` wants each key absent.
func cmdEnviron(ts *testscript.TestScript, neg bool, args []string) {
	db, err := store.Open(filepath.Join(ts.Getenv("HOME"), ".bgr", "bgr.sqlite"))
	ts.Check(err)
	defer db.Close()
	r, err := db.Get(args[0])
	ts.Check(err)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", r.PID))
	ts.Check(err)
	env := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, want := range args[1:] {
		k, v, hasVal := strings.Cut(want, "=")
		got, ok := env[k]
		switch {
		case neg && ok:
			ts.Fatalf("%s has %s=%q", args[0], k, got)
		case !neg && !ok:
			ts.Fatalf("%s has no %s", args[0], k)
		case !neg && hasVal && got != v:
			ts.Fatalf("%s has %s=%q, want %q", args[0], k, got, v)
		}
	}
}

// storedStatus returns the status that the record named name has in the
// store, which a listing may not show (a stopped record whose tree still
// runs is listed running), "" when there is no such record.
func storedStatus(ts *testscript.TestScript, name string) string {
	db := openScriptDB(ts)
	defer db.Close()
	r, err := db.Get(name)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	ts.Check(err)
	return string(r.Status)
}

// jsonField returns one field of `bgrun NAME --json`, formatted with %v.
func jsonField(ts *testscript.TestScript, name, key string) string {
	db, err := store.Open(filepath.Join(ts.Getenv("HOME"), ".bgr", "bgr.sqlite"))
	ts.Check(err)
	defer db.Close()
	p, err := ps.Get(context.Background(), db, name)
	if errors.Is(err, store.ErrNotFound) {
		return "" // not yet (or no longer) there: a wait goes on
	}
	ts.Check(err)
	b, _ := json.Marshal(p)
	var m map[string]any
	json.Unmarshal(b, &m)
	return fmt.Sprint(m[key])
}

// cmdHTTP sends a request to the first port of a record (the dashboard):
// `httpreq METHOD NAME PATH [BODYFILE]`; the answer's body becomes stdout,
// and a status of 400 or more fails unless negated. A BODYFILE is sent as
// JSON.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 && len(args) != 4 {
		ts.Fatalf("usage: httpreq METHOD NAME PATH [BODYFILE]")
	}
	db, err := store.Open(filepath.Join(ts.Getenv("HOME"), ".bgr", "bgr.sqlite"))
	ts.Check(err)
	defer db.Close()
	p, err := ps.Get(context.Background(), db, args[1])
	ts.Check(err)
	if len(p.Ports) == 0 {
		ts.Fatalf("%s listens on no port", args[1])
	}
	url := fmt.Sprintf("http://127.0.0.1:%d%s", p.Ports[0], args[2])
	var body io.Reader
	if len(args) == 4 {
		body = strings.NewReader(ts.ReadFile(args[3]))
	}
	req, err := http.NewRequest(args[0], url, body)
	ts.Check(err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	ts.Stdout().Write(answer)
	if failed := resp.StatusCode >= 400; failed != neg {
		ts.Fatalf("%s %s: %s", args[0], args[2], resp.Status)
	}
}

// cmdSetpid points a record at the process in a pid file, as if that pid had
// been reused by an unrelated process: `setpid NAME PIDFILE` keeps the
// record's own start time, so bgrun must see the pid is not its process.
func cmdSetpid(ts *testscript.TestScript, neg bool, args []string) {
	pid, _ := readPidFile(ts, args[1])
	db, err := store.Open(filepath.Join(ts.Getenv("HOME"), ".bgr", "bgr.sqlite"))
	ts.Check(err)
	defer db.Close()
	_, err = db.Update(args[0], func(r *store.Record) error {
		r.PID, r.PGID, r.Status = pid, pid, store.StatusRunning
		return nil
	})
	ts.Check(err)
}

// layers lists, for each package, the project packages it may import: only
// those above it in ARCHITECTURE.md's picture. logs is a leaf beside store,
// ports and docker.
var layers = map[string][]string{
	"store":     {},
	"ports":     {},
	"docker":    {},
	"logs":      {"ps", "store", "ports", "docker"},
	"ps":        {"store", "ports", "docker"},
	"stop":      {"ps", "store", "ports", "docker"},
	"run":       {"stop", "ps", "store", "ports", "docker", "logs"},
	"run/boot":  {"run", "stop", "ps", "store", "ports", "docker", "logs"},
	"run/stack": {"run", "stop", "ps", "store", "ports", "docker", "logs"},
	"watch":     {"run/boot", "run", "stop", "ps", "store", "ports", "docker", "logs"},
	"dash":      {"watch", "run/boot", "run", "stop", "ps", "store", "ports", "docker", "logs"},
	".":         {"dash", "watch", "run/stack", "run/boot", "run", "stop", "ps", "store", "ports", "docker", "logs"},
}

// externals lists the only modules non-test code may import, and who may:
// the module's packages too (modernc.org/sqlite/lib).
var externals = map[string][]string{
	"modernc.org/sqlite":         {"store"},
	"github.com/BurntSushi/toml": {"run", "run/stack"},
}

// external returns the allowed module that path is of, "" for none.
func external(path string) string {
	for m := range externals {
		if path == m || strings.HasPrefix(path, m+"/") {
			return m
		}
	}
	return ""
}

// TestLayering holds the import rules of ARCHITECTURE.md: a package imports
// only packages above it, the SQLite driver only in store, the TOML parser
// only in run, and nothing else outside the standard library.
func TestLayering(t *testing.T) {
	fset := token.NewFileSet()
	for dir, allowed := range layers {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("package %s: no Go files (%v)", dir, err)
		}
		for _, f := range files {
			test := strings.HasSuffix(f, "_test.go")
			file, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range file.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				first, _, _ := strings.Cut(path, "/")
				switch {
				case strings.HasPrefix(path, "bgrun/"):
					pkg := strings.TrimPrefix(path, "bgrun/")
					if !slices.Contains(allowed, pkg) && !(test && pkg == dir) {
						t.Errorf("%s imports bgrun/%s, which is not above it", f, pkg)
					}
				case external(path) != "":
					if m := external(path); !slices.Contains(externals[m], dir) {
						t.Errorf("%s imports %s; only %s may", f, path, strings.Join(externals[m], " and "))
					}
				case strings.Contains(first, "."):
					if !test || path != "github.com/rogpeppe/go-internal/testscript" {
						t.Errorf("%s imports %s, outside the standard library and the two allowed modules", f, path)
					}
				}
			}
		}
	}
}

// cmdSupervisors (sups) checks how many supervisors this script's bgrun commands
// run: `sups N` waits up to ten seconds for exactly N, `sups max N` polls
// for two seconds and fails if more than N ever run at once.
func cmdSupervisors(ts *testscript.TestScript, neg bool, args []string) {
	count := func() int {
		want := []byte("BGR_TEST_TAG=" + ts.Getenv("BGR_TEST_TAG") + "\x00")
		t, err := ps.Snapshot()
		ts.Check(err)
		n := 0
		for _, pid := range t.PIDs() {
			if p, ok := t.Get(pid); !ok || p.State == 'Z' {
				continue
			}
			cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			if bytes.Contains(cl, []byte("--_supervise\x00")) && bytes.Contains(env, want) {
				n++
			}
		}
		return n
	}
	if len(args) == 2 && args[0] == "max" {
		limit, _ := strconv.Atoi(args[1])
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if n := count(); n > limit {
				ts.Fatalf("%d supervisors run at once, want at most %d", n, limit)
			}
		}
		return
	}
	want, _ := strconv.Atoi(args[0])
	deadline := time.Now().Add(10 * time.Second)
	for n := count(); n != want; n = count() {
		if time.Now().After(deadline) {
			ts.Fatalf("%d supervisors run, want %d", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdFreeport sets the variable VAR to a TCP port that the kernel gave and
// that nothing listens on now: `freeport VAR`.
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ts.Setenv(args[0], strconv.Itoa(port))
}

// seqLines parses the numbered lines chatter writes ("%09d x...x"), skipping
// a line that is not one (cut by a rotation that dropped bytes before it).
func seqLines(b []byte) (nums []int, bad int) {
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		n, err := strconv.Atoi(strings.SplitN(l, " ", 2)[0])
		if len(l) != 99 || err != nil || l[9:] != " "+strings.Repeat("x", 89) {
			bad++
			continue
		}
		nums = append(nums, n)
	}
	return nums, bad
}

// cmdChecklog checks the log at PATH and its rotated copies after chatter:
// `checklog PATH KEEP MAXBYTES LASTFILE`. Together they hold at most
// MAXBYTES; there is no copy past KEEP; each file's lines follow each other
// without a gap, and so do the newest copy's and the file's (nothing lost
// at the last rotation); the stream over all is in order and ends with the
// line number in LASTFILE.
func cmdChecklog(ts *testscript.TestScript, neg bool, args []string) {
	path := ts.MkAbs(args[0])
	keep, _ := strconv.Atoi(args[1])
	maxBytes, _ := strconv.ParseInt(args[2], 10, 64)
	last, _ := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[3])))
	if _, err := os.Stat(fmt.Sprintf("%s.%d", path, keep+1)); err == nil {
		ts.Fatalf("%s.%d exists", path, keep+1)
	}
	var total int64
	var all []int
	var newest []byte
	newestCount := 0
	for i := keep; i >= 0; i-- {
		p := path
		if i > 0 {
			p = fmt.Sprintf("%s.%d", path, i)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			ts.Fatalf("%v", err)
		}
		total += int64(len(b))
		if i == 1 {
			newest = b
		}
		if i == 0 {
			b = append(newest, b...) // the last rotation's boundary
		}
		nums, bad := seqLines(b)
		if bad > 2 {
			ts.Fatalf("%s: %d malformed lines", p, bad)
		}
		for j := 1; j < len(nums); j++ {
			if nums[j] != nums[j-1]+1 {
				ts.Fatalf("%s: line %d follows line %d", p, nums[j], nums[j-1])
			}
		}
		if i == 1 {
			newestCount = len(nums)
		}
		if i == 0 {
			all = all[:len(all)-newestCount] // the joined parse has them again
		}
		all = append(all, nums...)
		ts.Logf("%s: %d bytes, lines %v..%v", p, len(b), first(nums), lastOf(nums))
	}
	if total > maxBytes {
		ts.Fatalf("the log and its copies hold %d bytes, over %d", total, maxBytes)
	}
	for j := 1; j < len(all); j++ {
		if all[j] < all[j-1] {
			ts.Fatalf("line %d comes after line %d", all[j], all[j-1])
		}
	}
	if lastOf(all) != last {
		ts.Fatalf("the last line on disk is %d, want %d", lastOf(all), last)
	}
}

func first(n []int) int {
	if len(n) == 0 {
		return -1
	}
	return n[0]
}

func lastOf(n []int) int {
	if len(n) == 0 {
		return -1
	}
	return n[len(n)-1]
}

// cmdCheckseq checks chatter's lines in FILE: `checkseq [-wait] FILE
// LASTFILE [COUNT]`: each line once and in order, the last one the number in
// LASTFILE; with COUNT, exactly COUNT lines that follow each other. With
// -wait it first polls for up to a minute until FILE ends with that line.
func cmdCheckseq(ts *testscript.TestScript, neg bool, args []string) {
	wait := len(args) > 0 && args[0] == "-wait"
	if wait {
		args = args[1:]
	}
	last, _ := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[1])))
	// Waiting looks only at the end of the file, which is cheap.
	for deadline := time.Now().Add(time.Minute); wait && time.Now().Before(deadline); {
		if f, err := os.Open(ts.MkAbs(args[0])); err == nil {
			end := make([]byte, 100)
			fi, _ := f.Stat()
			n, _ := f.ReadAt(end, max(0, fi.Size()-100))
			f.Close()
			if got, _ := seqLines(end[:n]); lastOf(got) == last {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	nums, bad := seqLines([]byte(ts.ReadFile(args[0])))
	for j := 1; j < len(nums); j++ {
		if nums[j] <= nums[j-1] {
			ts.Fatalf("%s: line %d comes after line %d", args[0], nums[j], nums[j-1])
		}
		if len(args) > 2 && nums[j] != nums[j-1]+1 {
			ts.Fatalf("%s: line %d follows line %d", args[0], nums[j], nums[j-1])
		}
	}
	if lastOf(nums) != last {
		ts.Fatalf("%s: the last line is %d, want %d", args[0], lastOf(nums), last)
	}
	if len(args) > 2 {
		want, _ := strconv.Atoi(args[2])
		if len(nums) != want || bad != 0 {
			ts.Fatalf("%s: %d lines (%d malformed), want %d", args[0], len(nums), bad, want)
		}
	}
	ts.Logf("%s: %d lines, %d cut by rotations", args[0], len(nums), bad)
}

// raceDetector is true when the tests (and so every bgrun they run, the same
// binary) are built with the race detector, which slows each process down.
var raceDetector = func() bool {
	bi, ok := debug.ReadBuildInfo()
	return ok && slices.Contains(bi.Settings, debug.BuildSetting{Key: "-race", Value: "true"})
}()

// sampleArgs are arguments that satisfy c's least number of arguments.
func sampleArgs(c *command) []string {
	switch c.name {
	case "kill-port":
		return []string{"8080"}
	case "completion":
		return []string{"bash"}
	}
	var args []string
	for range c.args[0] {
		args = append(args, "api")
	}
	return args
}

// sampleValue is a valid value for a flag of kind k.
func sampleValue(k kind) string {
	switch k {
	case countKind:
		return "3"
	case durKind:
		return "2s"
	case portKind:
		return "5000"
	case sizeKind:
		return "500M"
	case readyKind:
		return "tcp:5000"
	case initKind:
		return "systemd"
	}
	return "x"
}

// TestCommandTable goes over every command: each flag it takes parses, a
// flag it does not take is a usage error naming it, and --help prints its
// usage.
func TestCommandTable(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			takes := map[string]bool{}
			for _, f := range flagsOf(c) {
				takes[f.name] = true
				if f.name == "help" {
					continue
				}
				args := append([]string{c.name}, sampleArgs(c)...)
				args = append(args, "--"+f.name)
				if f.kind != boolKind {
					args = append(args, sampleValue(f.kind))
				}
				in, err := parse(args)
				if err != nil {
					t.Errorf("%q: %v", args, err)
					continue
				}
				if in.cmd != c || in.vals[f.name] == nil {
					t.Errorf("%q: command %s, value %v", args, in.cmd.name, in.vals[f.name])
				}
				if f.short != "" {
					i := len(args) - 1
					if f.kind != boolKind {
						i-- // the flag comes before its value
					}
					args[i] = "-" + f.short
					if in, err := parse(args); err != nil || in.vals[f.name] == nil {
						t.Errorf("%q: %v", args, err)
					}
				}
			}
			for _, f := range flagDefs {
				if takes[f.name] {
					continue
				}
				args := append(append([]string{c.name}, sampleArgs(c)...), "--"+f.name, sampleValue(f.kind))
				var ue usageError
				if _, err := parse(args); !errors.As(err, &ue) || ue.cmd != c.name {
					t.Errorf("%q: want a usage error of %s, got %v", args, c.name, err)
				}
			}
			var out, errb bytes.Buffer
			if code := Main(context.Background(), []string{c.name, "--help"}, &out, &errb); code != 0 ||
				!strings.HasPrefix(out.String(), "Usage: bgrun "+c.name) {
				t.Errorf("%s --help: exit %d, %q %q", c.name, code, out.String(), errb.String())
			}
		})
	}
}

// TestOriginalForms holds that each of the original's forms parses to the
// same command, flags and arguments as its subcommand form.
func TestOriginalForms(t *testing.T) {
	for _, tc := range []struct{ old, sub string }{
		{"", "ps"},
		{"--json --filter prod", "ps --json --filter prod"},
		{"api", "show api"},
		{"api --json", "show api --json"},
		{"--stop api", "stop api"},
		{"--stop=api --timeout 3s", "stop api --timeout 3s"},
		{"--stop --name api", "stop api"},
		{"--stop n", "stop n"}, // a name like a short flag
		{"--stop-all", "stop --all"},
		{"--restart api", "restart api"},
		{"--restart-all", "restart --all"},
		{"--delete api", "delete api"},
		{"api --logs --lines 5", "logs api --lines 5"},
		{"api -l", "logs api"},
		{"api --log-stdout", "logs api --stdout"},
		{"--clean", "clean"},
		{"--nuke", "nuke"},
		{"--kill-port 8080", "kill-port 8080"},
		{"--env --shell fish", "env --shell fish"},
		{"--dashboard --port 5000", "dashboard --port 5000"},
		{"api --guard", "guard api"},
		{"api --guard-off", "guard api --off"},
		{"--name api --command x --guard", "run --name api --command x --guard"},
		{"--name api --force", "run --name api --force"},
		{"api --force", "run api --force"},
		{"-- sleep 1", "run -- sleep 1"},
		{"--name api -- sleep 1", "run --name api -- sleep 1"},
		{"--version", "version"},
		{"-v", "version"},
		{"--_supervise api --db x", "_supervise api --db x"},
	} {
		old, err1 := parse(strings.Fields(tc.old))
		sub, err2 := parse(strings.Fields(tc.sub))
		if err1 != nil || err2 != nil {
			t.Errorf("%q: %v; %q: %v", tc.old, err1, tc.sub, err2)
			continue
		}
		if old.cmd != sub.cmd || !reflect.DeepEqual(old.vals, sub.vals) || !reflect.DeepEqual(old.args, sub.args) ||
			!reflect.DeepEqual(old.rest, sub.rest) {
			t.Errorf("%q is %s %v %q %q; %q is %s %v %q %q", tc.old, old.cmd.name, old.vals, old.args, old.rest,
				tc.sub, sub.cmd.name, sub.vals, sub.args, sub.rest)
		}
	}
}

// TestStrict lists command lines that are usage errors.
func TestStrict(t *testing.T) {
	for _, line := range []string{
		"ps --fetch", "--clean --stop-all", "--stop a --restart", "web --lines abc", "logs x --json",
		"logs x --lines 0", "logs x --lines", "stop x -- y", "ports a b", "--name", "--kill-port abc",
		"--json=maybe", "stpo web", "bun run dev", "ps --jsn", "--dashboard --port 70000",
		"run a --config c --no-config", "restart --timeout 1x a",
	} {
		var ue usageError
		if _, err := parse(strings.Fields(line)); !errors.As(err, &ue) {
			t.Errorf("%q: want a usage error, got %v", line, err)
		}
	}
}

func TestSuggest(t *testing.T) {
	for word, want := range map[string]string{"stpo": "stop", "restrat": "restart", "bun": "", "bogus": "",
		"dashbord": "dashboard", "histroy": "history", "ps": ""} {
		if got := suggestCommand(word); got != want {
			t.Errorf("suggestCommand(%q) = %q, want %q", word, got, want)
		}
	}
}

// cmdReboot simulates a reboot for a script: every process of its test (the
// managed ones and their supervisors, all carrying BGR_TEST_TAG) is killed
// with SIGKILL, and it returns once none of them runs. The store is left as
// it was, as a power cut would leave it.
func cmdReboot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 0 {
		ts.Fatalf("usage: reboot")
	}
	tag := ts.Getenv("BGR_TEST_TAG")
	deadline := time.Now().Add(10 * time.Second)
	// A killed process loses its environment before it is a zombie: wait
	// for the end of each one killed, not only for the tag to vanish.
	var killed []ps.Proc
	for {
		killed = append(killed, sweep(tag)...)
		left := tagged(tag)
		for _, p := range killed {
			if q, ok := ps.Read(p.PID); ok && q.State != 'Z' && q.StartTicks == p.StartTicks {
				left = append(left, p.PID)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("processes %v survived SIGKILL", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tagged lists the live (not zombie) processes that carry the tag.
func tagged(tag string) []int {
	want := []byte("BGR_TEST_TAG=" + tag + "\x00")
	t, err := ps.Snapshot()
	if err != nil {
		return nil
	}
	var out []int
	for _, pid := range t.PIDs() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !bytes.Contains(b, want) || pid == os.Getpid() {
			continue
		}
		if p, ok := ps.Read(pid); ok && p.State != 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

// systemdRunning reports whether systemd is the init system here, as
// sd_booted(3) decides.
func systemdRunning() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

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
	// A named record's process is waited for: between a guard's restarts
	// (the old tree ended, the new one not yet spawned) none runs for a
	// moment. A stray is never waited out.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		stray, lines := checkMarked(db, ts.Getenv("BGR_TEST_TAG"))
		if len(stray) > 0 {
			ts.Logf("marked processes:\n%s", strings.Join(lines, "\n"))
			ts.Fatalf("processes no record knows: %s", strings.Join(stray, "; "))
		}
		if len(args) == 1 && args[0] == "none" {
			ts.Logf("marked processes:\n%s", strings.Join(lines, "\n"))
			if len(lines) > 0 {
				ts.Fatalf("marked processes still run")
			}
			return
		}
		missing := ""
		for _, name := range args {
			found := false
			for _, l := range lines {
				found = found || strings.Fields(l)[1] == name
			}
			if !found {
				missing = name
			}
		}
		if missing == "" {
			ts.Logf("marked processes:\n%s", strings.Join(lines, "\n"))
			return
		}
		if time.Now().After(deadline) {
			ts.Logf("marked processes:\n%s", strings.Join(lines, "\n"))
			ts.Fatalf("no marked process of %s runs", missing)
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

// TestOwnershipStress starts, restarts, stops, deletes and cleans records at
// random from several goroutines through the real binary, and SIGKILLs the
// CLI at random moments (40 rounds, a fixed seed). After every round it
// checks by marker that every live process carrying one belongs to a record,
// and that every record is consistent: settled (not left starting), and
// running exactly when processes with its marker run. It counts; it does
// not time.
func TestOwnershipStress(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test; run without -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("markers are read from /proc")
	}
	// Built with -race, each of its ~350 bgrun runs is several times slower
	// and the package would not fit go test's default 10 minutes; the race
	// detector sees nothing of other processes, so this black-box test
	// drives a plain build of bgrun instead.
	bgrun, path := "bgrun", os.Getenv("PATH")
	if raceDetector {
		bin := t.TempDir()
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // as .ci/run builds it: cached
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		bgrun, path = filepath.Join(bin, "bgrun"), bin+string(os.PathListSeparator)+path
	}
	home := t.TempDir()
	tag := fmt.Sprintf("stress-%d-%d", os.Getpid(), time.Now().UnixNano())
	env := append(os.Environ(), "HOME="+home, "BGR_TEST_TAG="+tag, "BGR_STOP_TIMEOUT=1s",
		"BGR_STARTUP_HEALTH_GRACE_MS=50", "NO_COLOR=1", "DB_NAME=", "BGR_HOME=", "PATH="+path)
	dbPath := filepath.Join(home, ".bgr", "bgr.sqlite")
	t.Cleanup(func() {
		if db, err := store.Open(dbPath); err == nil {
			stop.Nuke(context.Background(), db, stop.Options{Timeout: time.Second})
			db.Close()
		}
		sweep(tag)
	})
	// sleep, not the helper sleeper: under -race every helper is the race
	// build of this test binary, slow to start, and the shapes are the same.
	commands := []string{
		"sleep 600",                                  // simple: exec'd
		"sleep 600 & sleep 600; wait",                // compound: the shell leads
		"setsid sh -c 'sleep 600 &'; exec sleep 600", // leaves a daemon in a session of its own
	}
	names := []string{"s0", "s1", "s2", "s3"}
	// A stack of its own names, brought up and down beside the rest.
	var stack strings.Builder
	for i, c := range commands {
		fmt.Fprintf(&stack, "[process.u%d]\ncommand = %q\n", i, c)
		if i > 0 {
			fmt.Fprintf(&stack, "depends_on = [\"u%d\"]\n", i-1)
		}
	}
	if err := os.WriteFile(filepath.Join(home, "bgrun.toml"), []byte(stack.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(10, 2026))
	type op struct {
		args []string
		kill time.Duration // SIGKILL the CLI (or, with no args, the supervisor) after this long; 0 never
	}
	counts := map[string]int{}
	var mu sync.Mutex
	runOp := func(o op) {
		if len(o.args) == 0 {
			time.Sleep(o.kill)
			if n := killSupervisors(tag); n > 0 {
				mu.Lock()
				counts["supervisor killed"] += n
				mu.Unlock()
			}
			return
		}
		cmd := exec.Command(bgrun, o.args...)
		cmd.Env = env
		cmd.Dir = home
		if err := cmd.Start(); err != nil {
			t.Error(err)
			return
		}
		var timer *time.Timer
		if o.kill > 0 {
			timer = time.AfterFunc(o.kill, func() { cmd.Process.Kill() })
		}
		cmd.Wait()
		killed := o.kill > 0 && !timer.Stop()
		mu.Lock()
		counts[o.args[0]]++
		if killed {
			counts["killed"]++
		}
		mu.Unlock()
	}
	const rounds, workers, opsEach = 40, 4, 2
	for round := range rounds {
		// The plan comes from the seed alone, before anything runs.
		plan := make([][]op, workers)
		for w := range plan {
			for range opsEach {
				name := names[rng.IntN(len(names))]
				var args []string
				switch k := rng.IntN(14); {
				case k < 4:
					args = []string{"--name", name, "--command", commands[rng.IntN(len(commands))]}
					if rng.IntN(2) == 0 {
						args = append(args, "--force")
					}
				case k < 6:
					args = []string{"--restart", name}
				case k < 8:
					args = []string{"--stop", name}
				case k < 9:
					args = []string{"--delete", name}
				case k < 10:
					args = []string{"--clean"}
				case k < 11:
					args = []string{"up"}
				case k < 12:
					args = []string{"down"}
				case k < 13:
					args = []string{"down", "--delete"}
				default:
					args = nil // the supervisor is killed, at a random moment
				}
				o := op{args: args}
				if args == nil {
					o.kill = time.Duration(1+rng.IntN(300)) * time.Millisecond
					plan[w] = append(plan[w], o)
					continue
				}
				if rng.IntN(3) == 0 {
					o.kill = time.Duration(1+rng.IntN(250)) * time.Millisecond
				}
				plan[w] = append(plan[w], o)
			}
		}
		var wg sync.WaitGroup
		if hold := rng.IntN(2) == 0; hold {
			// Another writer holds the store for a while, as the dashboard
			// or a supervisor may: a start must not have spawned anything
			// it cannot record yet.
			wg.Go(func() { holdStore(t, dbPath, 3, 60*time.Millisecond) })
		}
		for _, ops := range plan {
			wg.Go(func() {
				for _, o := range ops {
					runOp(o)
				}
			})
		}
		wg.Wait()
		checkRound(t, round, dbPath, tag, counts, func() {
			cmd := exec.Command(bgrun, "ps")
			cmd.Env, cmd.Dir = env, home
			cmd.Run()
		})
		if t.Failed() {
			break
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, counts[k])
	}
	t.Logf("counts:%s", b.String())
	if counts["killed"] == 0 || counts["marked"] == 0 || counts["supervisor killed"] == 0 {
		t.Errorf("the stress killed no CLI or no supervisor, or saw no marked process: %v", counts)
	}
}

// mismatched says which records' statuses do not match what runs: a
// record is running exactly when something of it runs, and none is left
// starting once every command ended.
func mismatched(recs []store.Record, procs []ps.Process) []string {
	running := map[string]bool{}
	for _, p := range procs {
		running[p.Name] = p.Running
	}
	var out []string
	for _, r := range recs {
		switch {
		case r.Status == store.StatusStarting:
			out = append(out, r.Name+" is left starting after every command ended")
		case (r.Status == store.StatusRunning) != running[r.Name]:
			out = append(out, fmt.Sprintf("%s is %s, but running=%v", r.Name, r.Status, running[r.Name]))
		}
	}
	return out
}

// killSupervisors SIGKILLs the supervisors that carry the tag, and returns
// how many it killed.
func killSupervisors(tag string) int {
	want := []byte("BGR_TEST_TAG=" + tag + "\x00")
	n := 0
	for _, pid := range tagged(tag) {
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if bytes.Contains(cl, []byte("--_supervise\x00")) && bytes.Contains(env, want) && syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// holdStore holds the store's write lock n times for d each, through a
// record of its own that owns no process.
func holdStore(t *testing.T, dbPath string, n int, d time.Duration) {
	db, err := store.Open(dbPath)
	if err != nil {
		t.Error(err)
		return
	}
	defer db.Close()
	for range n {
		// Its log paths are bgrun's own: deleting the record removes them.
		logs := filepath.Join(filepath.Dir(dbPath), "holder.txt")
		r := store.Record{Name: "holder", Command: "true", Dir: "/", Status: store.StatusStopped,
			StdoutPath: logs, StderrPath: logs}
		if err := db.Put(&r); err != nil {
			t.Error(err)
			return
		}
		db.Update("holder", func(*store.Record) error {
			time.Sleep(d)
			return nil
		})
		time.Sleep(d / 2)
	}
}

// logStray logs what a failed round knows: the records, the history of the
// last rounds and every process of the test, to find how a stray began.
func logStray(t *testing.T, db *store.DB, tag string, recs []store.Record) {
	t.Helper()
	for _, r := range recs {
		t.Logf("record %s id=%d status=%s pid=%d instance=%s wanted=%v ticks=%d",
			r.Name, r.ID, r.Status, r.PID, r.Instance, r.Wanted, r.StartTicks)
	}
	if evs, err := db.Events("", 40); err == nil {
		for i := len(evs) - 1; i >= 0; i-- {
			e := evs[i]
			t.Logf("event %s %s %s pid=%d %v", e.At.Format("15:04:05.000"), e.Name, e.Event, e.PID, e.Detail)
		}
	}
	snap, err := ps.Snapshot()
	if err != nil {
		return
	}
	want := "BGR_TEST_TAG=" + tag + "\x00"
	for m, pids := range snap.Marked() {
		for _, p := range pids {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p))
			if !strings.Contains(string(b), want) {
				continue
			}
			q, _ := snap.Get(p)
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			t.Logf("process %d ppid=%d state=%c ticks=%d marker=%s cmd=%q",
				p, q.PPID, q.State, q.StartTicks, m, strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
}

// logLockHolders logs who holds the lock of record name, from /proc/locks.
func logLockHolders(t *testing.T, db *store.DB, name string) {
	t.Helper()
	unlock, ok, err := db.TryLock(name)
	if ok {
		unlock()
	}
	t.Logf("lock of %s: free=%v err=%v", name, ok, err)
	fi, err := os.Stat(store.LockFile(db.Dir(), name))
	if err != nil {
		return
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	b, _ := os.ReadFile("/proc/locks")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[5], ":"+strconv.FormatUint(ino, 10)) {
			continue
		}
		pid := f[4]
		cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		st, _ := os.ReadFile("/proc/" + pid + "/stat")
		t.Logf("lock holder %s: %s cmd=%q stat=%s", pid, line, strings.ReplaceAll(string(cmd), "\x00", " "), st)
	}
	// /proc/locks names the process that took the lock; whoever has the
	// file open now holds it (a child that inherited the descriptor).
	lock := store.LockFile(db.Dir(), name)
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && target == lock {
			dir := filepath.Dir(filepath.Dir(fd))
			cmd, _ := os.ReadFile(dir + "/cmdline")
			st, _ := os.ReadFile(dir + "/stat")
			wchan, _ := os.ReadFile(dir + "/wchan")
			t.Logf("has it open: %s cmd=%q wchan=%s stat=%s", fd, strings.ReplaceAll(string(cmd), "\x00", " "), wchan, st)
		}
	}
}

// checkRound checks the invariants after a round, once every CLI of it has
// ended (or was killed).
func checkRound(t *testing.T, round int, dbPath, tag string, counts map[string]int, touch func()) {
	t.Helper()
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	defer db.Close()
	// The starts of killed commands go on in the supervisor: wait for them
	// (a killed supervisor's are settled by the next, which a command
	// brings up).
	var procs []ps.Process
	var recs []store.Record
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		touch() // a command brings back a supervisor that was killed
		if procs, err = ps.List(context.Background(), db, ps.Options{}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if recs, err = db.List(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(mismatched(recs, procs)) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range mismatched(recs, procs) {
		t.Errorf("round %d: %s", round, m)
	}
	stray, lines := checkMarked(db, tag)
	if len(stray) > 0 {
		t.Errorf("round %d: processes no record knows: %s", round, strings.Join(stray, "; "))
		logStray(t, db, tag, recs)
	}
	counts["marked"] += len(lines)
	byName := map[string]store.Record{}
	for _, r := range recs {
		byName[r.Name] = r
		if r.Status == store.StatusStarting {
			logLockHolders(t, db, r.Name)
			logStray(t, db, tag, recs)
		}
	}
	t2, err := ps.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		r := byName[p.Name]
		for _, pid := range p.PIDs {
			if m := t2.Marker(pid); m != "" && m != r.Instance {
				if q, ok := t2.Get(pid); ok && q.State != 'Z' {
					t.Errorf("round %d: %s counts pid %d, which carries marker %s, not its own %s",
						round, p.Name, pid, m, r.Instance)
				}
			}
		}
		if p.Running {
			counts["running"]++
		}
	}
}
