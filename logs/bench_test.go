package logs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// benchFileEnv names an environment variable that, when set, is the path of
// the 200 MB benchmark file: it is made there if missing and kept, so that
// `tail -n 50` can be timed on the very same file.
const benchFileEnv = "BGRUN_LOGS_BENCH_FILE"

// benchDir holds the benchmark files made in this run, removed by TestMain.
var benchDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchFiles makes each benchmark file once per run, because the testing
// package calls a benchmark several times and 200 MB takes a while to write.
var benchFiles = struct {
	sync.Mutex
	paths map[int64]string
}{paths: map[int64]string{}}

// benchFile returns a log of about size bytes of ~100-byte lines.
func benchFile(b *testing.B, size int64) string {
	b.Helper()
	benchFiles.Lock()
	defer benchFiles.Unlock()
	if p, ok := benchFiles.paths[size]; ok {
		return p
	}
	var path string
	if env := os.Getenv(benchFileEnv); env != "" && size >= 100<<20 {
		path = env
		if fi, err := os.Stat(path); err == nil && fi.Size() >= size {
			benchFiles.paths[size] = path
			return path
		}
	} else {
		if benchDir == "" {
			dir, err := os.MkdirTemp("", "bgrun-logs-bench-")
			if err != nil {
				b.Fatal(err)
			}
			benchDir = dir
		}
		path = filepath.Join(benchDir, fmt.Sprintf("log-%d.txt", size))
	}
	if err := writeBenchLog(path, size); err != nil {
		b.Fatal(err)
	}
	benchFiles.paths[size] = path
	return path
}

// writeBenchLog writes lines like a web server's log to path until the file
// holds at least size bytes.
func writeBenchLog(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	for i := 0; n < size; i++ {
		// Each line is 100 bytes with its newline.
		k, err := fmt.Fprintf(w, "2026-01-02T15:04:05.000Z INFO  GET /api/stocks/items/%08d status=200 dur=%04dms bytes=%06d ok\n",
			i, i%9973, i%999983)
		if err != nil {
			f.Close()
			return err
		}
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func benchmarkTail(b *testing.B, size int64) {
	path := benchFile(b, size)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
	for b.Loop() {
		out, err := Tail(path, 50)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) == 0 {
			b.Fatal("empty tail")
		}
	}
}

// BenchmarkTail reads the last 50 lines of a 200 MB log.
func BenchmarkTail(b *testing.B) { benchmarkTail(b, 200<<20) }

// BenchmarkTail1KB reads the last 50 lines of a 1 KB log (all of it), to
// show that the size of the file does not matter.
func BenchmarkTail1KB(b *testing.B) { benchmarkTail(b, 1<<10) }

// BenchmarkRotateCheck is the cost of a rotation check that finds the log
// under its cap, what the supervisor pays per log every 5 s.
func BenchmarkRotateCheck(b *testing.B) {
	p := filepath.Join(b.TempDir(), "a-out.txt")
	if err := writeBenchLog(p, 1<<20); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if rotated, err := Rotate(p, 10<<20, 3); rotated || err != nil {
			b.Fatal(rotated, err)
		}
	}
}

// BenchmarkRotate10MB rotates a log just past the default 10 MB cap.
func BenchmarkRotate10MB(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "a-out.txt")
	for b.Loop() {
		b.StopTimer()
		if err := writeBenchLog(p, 10<<20+4096); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if rotated, err := Rotate(p, 10<<20, 3); !rotated || err != nil {
			b.Fatal(rotated, err)
		}
	}
}
