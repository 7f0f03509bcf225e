package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"bgrun/ps"
	"bgrun/stop"
	"bgrun/store"
)

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
	// Built with -race, each of its ~350 bgrun runs is several times slower,
	// and the package no longer fits go test's default 10 minutes.
	if dl, ok := t.Deadline(); raceDetector && ok && time.Until(dl) < 15*time.Minute {
		t.Skip("with -race this test needs -timeout 20m or more (it takes about 5 minutes on 2 cores)")
	}
	home := t.TempDir()
	tag := fmt.Sprintf("stress-%d-%d", os.Getpid(), time.Now().UnixNano())
	env := append(os.Environ(), "HOME="+home, "BGR_TEST_TAG="+tag, "BGR_STOP_TIMEOUT=1s",
		"BGR_STARTUP_HEALTH_GRACE_MS=50", "NO_COLOR=1", "DB_NAME=", "BGR_HOME=")
	dbPath := filepath.Join(home, ".bgr", "bgr.sqlite")
	t.Cleanup(func() {
		if db, err := store.Open(dbPath); err == nil {
			stop.Nuke(db, stop.Options{Timeout: time.Second})
			db.Close()
		}
		sweep(tag)
	})
	commands := []string{
		"sleeper",                                // simple: exec'd
		"sleeper & sleeper; wait",                // compound: the shell leads
		"setsid sh -c 'sleeper &'; exec sleeper", // leaves a daemon in a session of its own
	}
	names := []string{"s0", "s1", "s2", "s3"}
	rng := rand.New(rand.NewPCG(10, 2026))
	type op struct {
		args []string
		kill time.Duration // SIGKILL the CLI after this long; 0 never
	}
	counts := map[string]int{}
	var mu sync.Mutex
	runOp := func(o op) {
		cmd := exec.Command("bgrun", o.args...)
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
				switch k := rng.IntN(10); {
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
				default:
					args = []string{"--clean"}
				}
				o := op{args: args}
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
		checkRound(t, round, dbPath, tag, counts)
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
	if counts["killed"] == 0 || counts["marked"] == 0 {
		t.Errorf("the stress killed no CLI or saw no marked process: %v", counts)
	}
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

// checkRound checks the invariants after a round, once every CLI of it has
// ended (or was killed).
func checkRound(t *testing.T, round int, dbPath, tag string, counts map[string]int) {
	t.Helper()
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	defer db.Close()
	// A listing settles what killed starts left behind.
	procs, err := ps.List(db, ps.Options{})
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	recs, err := db.List()
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	stray, lines := checkMarked(db, tag)
	if len(stray) > 0 {
		t.Errorf("round %d: processes no record knows: %s", round, strings.Join(stray, "; "))
	}
	counts["marked"] += len(lines)
	byName := map[string]store.Record{}
	for _, r := range recs {
		byName[r.Name] = r
		if r.Status == store.StatusStarting {
			t.Errorf("round %d: %s is left starting after every CLI ended", round, r.Name)
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
