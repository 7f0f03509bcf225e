//go:build unix

package watch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// residentMB returns the resident set size of this process in MiB from /proc, or 0
// where there is no /proc (then the benchmark reports the heap only).
func residentMB() float64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(data), &size, &resident); err != nil {
		return 0
	}
	return float64(resident*int64(os.Getpagesize())) / (1 << 20)
}

// procCPU returns the CPU time (user and system) this process has used, from
// /proc/self/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func procCPU(tb testing.TB) time.Duration {
	tb.Helper()
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		tb.Fatalf("parse /proc/self/stat: %q", data)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// BenchmarkWatch10k runs the watcher with its defaults over 200 directories of 50 files,
// all last modified a day ago but one, and reports what issue 16 asks of it: the CPU it
// takes while nothing changes (cpu-%, process CPU time over wall time from /proc, over
// BGRUN_BENCH_IDLE seconds, 20 by default), how long a full sweep takes (sweep-s), and
// the time from a change to the callback (mean and worst over 12 changes of each kind):
// an edit in place of the recently edited file (hot), of files untouched for a day
// (cold), and a create, delete, rename and atomic save (write aside, rename over) in
// untouched directories. Each change waits a random pause first, so that it falls
// anywhere in the watcher's schedule. Run it alone, with -benchtime 1x:
//
//	go test -run '^$' -bench Watch10k -benchtime 1x ./watch/
//
// or testdata/bench/watcher.sh, which also prints the load average.
func BenchmarkWatch10k(b *testing.B) {
	root := b.TempDir()
	makeTree(b, root, 200, 50)
	old := time.Now().Add(-24 * time.Hour)
	for d := range 200 {
		for f := range 50 {
			name := filepath.Join(root, fmt.Sprintf("pkg%03d", d), fmt.Sprintf("file%03d.go", f))
			if err := os.Chtimes(name, old, old); err != nil {
				b.Fatal(err)
			}
		}
	}
	recent := filepath.Join("pkg100", "file025.go") // edited just before the watcher starts
	if err := os.WriteFile(filepath.Join(root, recent), []byte("package x // recent\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	idle := 20 * time.Second
	if v, err := strconv.Atoi(os.Getenv("BGRUN_BENCH_IDLE")); err == nil && v > 0 {
		idle = time.Duration(v) * time.Second
	}
	for range b.N {
		p := &poller{Root: root}
		var sweeps, passes, passCPU atomic.Int64
		p.afterPass = func(s *snapshot, cost, pause time.Duration) {
			sweeps.Store(int64(s.sweeps))
			passes.Add(1)
			passCPU.Add(int64(cost))
		}
		type call struct {
			at    time.Time
			paths []string
		}
		calls := make(chan call, 100)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- p.Run(ctx, func(c []string) { calls <- call{time.Now(), c} })
		}()
		// Settle: the directories were just made, so their stamps are racy for two
		// seconds and every pass lists them again.
		time.Sleep(3 * time.Second)
		// Return the garbage of building the tree to the system now: the runtime's
		// background scavenger would otherwise spend up to 1% of a core on it during
		// the idle measurement, which is no cost of watching.
		debug.FreeOSMemory()
		s0, n0, p0, c0, w0 := sweeps.Load(), passes.Load(), passCPU.Load(), procCPU(b), time.Now()
		time.Sleep(idle)
		cpu, wall, rounds := procCPU(b)-c0, time.Since(w0), sweeps.Load()-s0
		npass, inPasses := passes.Load()-n0, time.Duration(passCPU.Load()-p0)
		load, _ := os.ReadFile("/proc/loadavg")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)

		// measure makes n changes with change(i), each after a random pause, and reports
		// the mean and worst time from the change to the callback naming the path that
		// change returns.
		measure := func(kind string, n int, change func(i int) string) {
			var worst time.Duration
			var total time.Duration
			for i := range n {
				time.Sleep(time.Duration(rand.Int64N(int64(700 * time.Millisecond))))
				start := time.Now()
				want := change(i)
				for {
					select {
					case c := <-calls:
						if !slices.Contains(c.paths, want) {
							continue
						}
						d := c.at.Sub(start)
						total += d
						worst = max(worst, d)
					case <-time.After(30 * time.Second):
						b.Fatalf("%s %d: %s not reported within 30s", kind, i, want)
					}
					break
				}
				// Let the burst end before the next change.
				time.Sleep(200 * time.Millisecond)
				for len(calls) > 0 {
					<-calls
				}
			}
			mean := total / time.Duration(n)
			b.Logf("%-8s mean %4d ms, worst %4d ms (%d changes)", kind, mean.Milliseconds(), worst.Milliseconds(), n)
			b.ReportMetric(float64(mean.Milliseconds()), kind+"-ms")
			b.ReportMetric(float64(worst.Milliseconds()), kind+"-worst-ms")
		}
		path := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
		cold := func(i, k int) string { return fmt.Sprintf("pkg%03d/file%03d.go", (i*37+k*11+7)%200, (i*13+k)%50) }
		const n = 12
		measure("hot", n, func(i int) string {
			os.WriteFile(path(recent), []byte(fmt.Sprintf("package x // hot %d\n", i)), 0o644)
			return filepath.ToSlash(recent)
		})
		measure("cold", n, func(i int) string {
			rel := cold(i, 0)
			os.WriteFile(path(rel), []byte(fmt.Sprintf("package x // cold %d\n", i)), 0o644)
			return rel
		})
		measure("create", n, func(i int) string {
			rel := fmt.Sprintf("pkg%03d/new%02d.go", (i*53+3)%200, i)
			os.WriteFile(path(rel), []byte("package x\n"), 0o644)
			return rel
		})
		measure("delete", n, func(i int) string {
			rel := cold(i, 1)
			os.Remove(path(rel))
			return rel
		})
		measure("rename", n, func(i int) string {
			rel := cold(i, 2)
			to := rel + ".renamed"
			os.Rename(path(rel), path(to))
			return to
		})
		measure("atomic", n, func(i int) string {
			rel := cold(i, 3)
			tmp := path(rel) + ".tmp"
			os.WriteFile(tmp, []byte(fmt.Sprintf("package x // saved %d\n", i)), 0o644)
			os.Rename(tmp, path(rel))
			return rel
		})
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.Logf("idle %v: %.2f%% of one core (%.2f%% in passes), %d sweeps, %d passes; load average after %s",
			wall.Round(time.Second), 100*cpu.Seconds()/wall.Seconds(), 100*inPasses.Seconds()/wall.Seconds(), rounds, npass, strings.TrimSpace(string(load)))
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
		b.ReportMetric(100*inPasses.Seconds()/wall.Seconds(), "pass-cpu-%")
		if rounds > 0 {
			b.ReportMetric(wall.Seconds()/float64(rounds), "sweep-s")
		}
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		if rss := residentMB(); rss > 0 {
			b.ReportMetric(rss, "rss-MB")
		}
	}
}
