//go:build unix

package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the user and system CPU time this process has used so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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

// BenchmarkIdleRun10k runs the watcher with its defaults over 200 directories of 50
// files and reports what the issue asks of it: the CPU it takes while nothing changes
// (cpu-% of one core, over 3 s or at least 6 scans), the heap in use with the snapshot
// held (heap-MB after a GC, and rss-MB, both of the whole test process) and how long a one-file edit takes
// to reach the callback (notice-ms, Debounce included). The process is otherwise idle,
// so its rusage is the watcher's.
func BenchmarkIdleRun10k(b *testing.B) {
	root := b.TempDir()
	makeTree(b, root, 200, 50)
	b.ResetTimer()
	for range b.N {
		p := &Poller{Root: root}
		scans := make(chan int, 1000)
		p.afterScan = func(n int) { scans <- n }
		calls := make(chan []string, 10)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, func(c []string) { calls <- c }) }()
		waitScan := func() int {
			select {
			case n := <-scans:
				return n
			case err := <-done:
				b.Fatalf("Run returned: %v", err)
			case <-time.After(30 * time.Second):
				b.Fatal("no scan within 30s")
			}
			return 0
		}
		// The first Rescan lists every directory again (their stamps are fresh);
		// measure from the second on, the steady state of an idle tree.
		for waitScan() < 2 {
		}
		cpu0, wall0 := cpuTime(b), time.Now()
		n := 0
		for time.Since(wall0) < 3*time.Second || n < 6 {
			waitScan()
			n++
		}
		cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		rss := residentMB()

		edited := time.Now()
		if err := os.WriteFile(filepath.Join(root, "pkg100", "file025.go"), []byte("package x // edited\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		var notice time.Duration
		for notice == 0 {
			select {
			case <-calls:
				notice = time.Since(edited)
			case <-scans:
			case <-time.After(30 * time.Second):
				b.Fatal("edit not noticed within 30s")
			}
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		if rss > 0 {
			b.ReportMetric(rss, "rss-MB")
		}
		b.ReportMetric(float64(wall.Milliseconds())/float64(n), "interval-ms")
		b.ReportMetric(float64(notice.Milliseconds()), "notice-ms")
	}
}
