//go:build linux

package dash

// Cost measurements, run only with BGRUN_DASH_COST=1: they start hundreds of
// processes and take a minute. They report numbers with t.Log and assert
// none of them.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
)

func costOnly(t *testing.T) {
	if os.Getenv("BGRUN_DASH_COST") != "1" {
		t.Skip("a measurement: run with BGRUN_DASH_COST=1")
	}
}

// startMany starts n sleeps named prefix0..prefixN-1 without a startup
// window, so that hundreds take seconds, not minutes.
func startMany(t *testing.T, db *store.DB, home, dir, prefix string, n int) {
	t.Helper()
	for i := range n {
		_, err := run.Request(context.Background(), db, run.Options{Name: fmt.Sprintf("%s%03d", prefix, i), Command: "exec sleep 900",
			Dir: dir, Home: home, Env: os.Environ(), Grace: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// procStatus reads a field of /proc/PID/status in kB.
func procStatus(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
}

// cpuTicks reads utime+stime of pid.
func cpuTicks(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

// TestCostServer runs the real binary as `bgrun --dashboard` over 100
// managed processes with 50 event streams open, and reports its memory and
// CPU.
func TestCostServer(t *testing.T) {
	costOnly(t)
	bin := os.Getenv("BGRUN_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "bgrun")
		out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput()
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	h := t.TempDir()
	t.Setenv("HOME", h)
	t.Setenv("BGR_HOME", "")
	home := filepath.Join(h, ".bgr")
	db, err := store.Open(filepath.Join(home, "bgr.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop.Nuke(context.Background(), db, stop.Options{Timeout: 2 * time.Second})
		db.Close()
	})
	startMany(t, db, home, t.TempDir(), "s", 100)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	out, err := exec.Command(bin, "--dashboard", "--port", strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		t.Fatalf("bgrun --dashboard: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`\(pid (\d+)\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no pid in %s", out)
	}
	pid, _ := strconv.Atoi(string(m[1]))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	t.Logf("dashboard pid %d idle (no client yet): RSS %d kB", pid, procStatus(pid, "VmRSS"))

	res, err := http.Get(base + "/api/processes")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	t.Logf("one /api/processes answer for 100 processes: %d bytes", len(body))

	const clients = 50
	var events, bytesRead, lastEvent atomic.Int64
	var wg sync.WaitGroup
	stopc := make(chan struct{})
	var bodies []io.Closer
	var mu sync.Mutex
	for range clients {
		res, err := http.Get(base + "/api/events")
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		bodies = append(bodies, res.Body)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(res.Body, 1<<20)
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				bytesRead.Add(int64(len(l)))
				if strings.HasPrefix(l, "data: ") {
					events.Add(1)
					lastEvent.Store(int64(len(l)))
				}
			}
		}()
	}
	defer func() {
		close(stopc)
		for _, b := range bodies {
			b.Close()
		}
		wg.Wait()
	}()
	// Measure over 30 seconds (BGRUN_DASH_COST_WINDOW to change), reading
	// the numbers once a second. The histories fill in three minutes; a
	// longer window shows the steady state.
	window := 30 * time.Second
	if d, err := time.ParseDuration(os.Getenv("BGRUN_DASH_COST_WINDOW")); err == nil {
		window = d
	}
	t0, c0 := time.Now(), cpuTicks(pid)
	e0, b0 := events.Load(), bytesRead.Load()
	var rss []int64
	for time.Since(t0) < window {
		time.Sleep(time.Second)
		rss = append(rss, procStatus(pid, "VmRSS"))
	}
	el := time.Since(t0).Seconds()
	cpu := float64(cpuTicks(pid)-c0) / 100 / el * 100
	slices.Sort(rss)
	t.Logf("with 100 processes and %d event streams over %.0fs: RSS median %d kB, max %d kB, peak (VmHWM) %d kB; CPU %.1f%% of one core",
		clients, el, rss[len(rss)/2], rss[len(rss)-1], procStatus(pid, "VmHWM"), cpu)
	t.Logf("events: %.2f per client per second, %.0f kB/s per client; the last event %d kB",
		float64(events.Load()-e0)/clients/el, float64(bytesRead.Load()-b0)/clients/el/1024, lastEvent.Load()/1024)
}

// perfScript hooks the page before its own scripts: it notes when each SSE
// message arrives, when the DOM next changes, and the frame after that.
const perfScript = `(() => {
  const perf = window.__perf = {msgs: [], muts: [], frames: [], long: []};
  const ES = window.EventSource;
  function Hooked(url, opts) {
    const es = new ES(url, opts);
    es.addEventListener('message', () => {
      const t = performance.now();
      perf.msgs.push(t);
      requestAnimationFrame(() => requestAnimationFrame(() => perf.frames.push([t, performance.now()])));
    });
    return es;
  }
  Hooked.prototype = ES.prototype;
  Hooked.CONNECTING = 0; Hooked.OPEN = 1; Hooked.CLOSED = 2;
  window.EventSource = Hooked;
  // Only changes to the process list count, not the connection badge.
  const inList = (n) => {
    const el = n.nodeType === 1 ? n : n.parentElement;
    return !!(el && el.closest && el.closest('#proc-table, #proc-cards'));
  };
  new MutationObserver((recs) => {
    if (recs.some((r) => inList(r.target))) perf.muts.push(performance.now());
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) perf.long.push(e.duration); })
      .observe({type: 'longtask', buffered: true});
  } catch (_) {}
})();`

// TestCostRender measures, in Chromium, how long the page takes from an SSE
// message to the DOM updated, with 200 processes.
func TestCostRender(t *testing.T) {
	costOnly(t)
	e := newEnv(t, "")
	startMany(t, e.db, e.home, e.dir, "p", 200)
	b := newBrowser(t, browserOptions{width: 1280, height: 900, initScript: perfScript})
	b.open(e.ts.URL + "/")
	var firstRows float64
	b.until("200 rows", func() bool { return len(b.findAll("tr.proc-row[data-name]")) == 200 })
	b.js(&firstRows, `return performance.now();`)
	t.Logf("page load to 200 rows found by the test: %.0f ms (upper bound: includes WebDriver polling)", firstRows)

	// Ten changes of state (a stop each), plus the metric updates between.
	for i := range 10 {
		name := fmt.Sprintf("p%03d", i*20)
		if _, err := stopProcess(e, name); err != nil {
			t.Fatal(err)
		}
		b.until(name+" stopped", func() bool { return b.textOf(rowCSS(name)+" .status") == "Stopped" })
	}
	var perf struct {
		Msgs   []float64    `json:"msgs"`
		Muts   []float64    `json:"muts"`
		Frames [][2]float64 `json:"frames"`
		Long   []float64    `json:"long"`
	}
	b.js(&perf, `return window.__perf;`)
	var dom, frame []float64
	for i, m := range perf.Msgs {
		next := 1e18
		if i+1 < len(perf.Msgs) {
			next = perf.Msgs[i+1]
		}
		for _, mu := range perf.Muts {
			if mu > m && mu < next {
				dom = append(dom, mu-m)
				break
			}
		}
	}
	for _, f := range perf.Frames {
		frame = append(frame, f[1]-f[0])
	}
	q := func(xs []float64) string {
		if len(xs) == 0 {
			return "none"
		}
		s := slices.Clone(xs)
		slices.Sort(s)
		return fmt.Sprintf("median %.1f ms, p90 %.1f ms, max %.1f ms (n=%d)", s[len(s)/2], s[len(s)*9/10], s[len(s)-1], len(s))
	}
	if len(dom) > 0 {
		t.Logf("first SSE message to the first rows in the DOM: %.1f ms", dom[0])
	}
	t.Logf("SSE message to the process list updated in the DOM: %s", q(dom))
	t.Logf("SSE message to the frame after the update (layout and paint included): %s", q(frame))
	t.Logf("long tasks (>50 ms): %s", q(perf.Long))
}
