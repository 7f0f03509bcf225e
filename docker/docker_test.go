package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// testImage is the registry-free image that .ci/docker.sh imports from busybox.
const testImage = "bgr-test:latest"

// testLabel marks every container a test starts, so docker_teardown in .ci/docker.sh
// can remove any that a crashed test left behind.
const testLabel = "--label bgrun.test=1"

var (
	daemonOnce sync.Once
	daemonErr  error
)

// needDaemon skips the test when no Docker daemon with the test image answers. CI
// always has one (.ci/docker.sh starts it); a developer machine may not.
func needDaemon(t testing.TB) {
	t.Helper()
	daemonOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
			daemonErr = fmt.Errorf("docker info: %v: %s", err, firstLine(string(out)))
			return
		}
		if out, err := exec.CommandContext(ctx, "docker", "image", "inspect", testImage).CombinedOutput(); err != nil {
			daemonErr = fmt.Errorf("image %s: %v: %s", testImage, err, firstLine(string(out)))
		}
	})
	if daemonErr != nil {
		t.Skipf("docker daemon not reachable: install docker.io and start dockerd (see .ci/docker.sh): %v", daemonErr)
	}
}

// uniqueName returns a container or record name no other test uses.
func uniqueName(t testing.TB) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "bgrtest-" + hex.EncodeToString(b)
}

// sh runs a shell command, as bgrun would, and returns its stdout.
func sh(t testing.TB, command string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sh -c %q: %v\n%s", command, err, stderr.String())
	}
	return stdout.String()
}

// removeOnCleanup force-removes, when the test ends, every container that matches a
// docker ps filter (name=^/x$ or label=k=v).
func removeOnCleanup(t testing.TB, filter string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--no-trunc", "--filter", filter).Output()
		if err != nil {
			t.Logf("cleanup: docker ps --filter %s: %v", filter, err)
			return
		}
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			args := append([]string{"rm", "-f"}, ids...)
			if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
				t.Logf("cleanup: docker rm -f: %v: %s", err, out)
			}
		}
	})
}

// startNamed starts `docker run -d --name NAME --init ... ARGS` and returns its record.
func startNamed(t testing.TB, name, args string) Record {
	t.Helper()
	removeOnCleanup(t, "name=^/"+name+"$")
	rec := Record{Name: name, Command: "docker run -d --name " + name + " --init " + testLabel + " " + args}
	sh(t, rec.Command)
	return rec
}

// status returns Status of one record.
func status(t testing.TB, rec Record) Container {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := Status(ctx, []Record{rec})
	if err != nil {
		t.Fatalf("Status(%s): %v", rec.Name, err)
	}
	c, ok := m[rec.Name]
	if !ok {
		t.Fatalf("Status(%s): record missing from %v", rec.Name, m)
	}
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLifecycleNamed(t *testing.T) {
	needDaemon(t)
	t.Parallel()
	ctx := context.Background()
	name := uniqueName(t)
	rec := startNamed(t, name, testImage+" sleep 1000")

	c := status(t, rec)
	if !c.Exists || !c.Running || c.Status != "running" || c.Name != name || len(c.ID) != 64 {
		t.Fatalf("after start: %+v, want an existing running container named %s", c, name)
	}
	if c.StartedAt.IsZero() || time.Since(c.StartedAt) > time.Minute {
		t.Errorf("StartedAt = %v, want just now", c.StartedAt)
	}

	start := time.Now()
	if err := Stop(ctx, rec, 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(start))
	c = status(t, rec)
	// 143 is 128+SIGTERM: the container stopped on the signal (tini as PID 1 passes
	// it on), not on the SIGKILL that Docker sends when the timeout runs out.
	if !c.Exists || c.Running || c.Status != "exited" || c.ExitCode != 143 || c.FinishedAt.IsZero() {
		t.Fatalf("after Stop: %+v, want exited with code 143", c)
	}
	if err := Stop(ctx, rec, time.Second); err != nil {
		t.Errorf("Stop of a stopped container: %v", err)
	}

	if err := Remove(ctx, rec); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if c = status(t, rec); c.Exists || c.Running {
		t.Fatalf("after Remove: %+v, want Exists=false", c)
	}
	if err := Remove(ctx, rec); err != nil {
		t.Errorf("Remove of a missing container: %v", err)
	}
	if err := Stop(ctx, rec, time.Second); err != nil {
		t.Errorf("Stop of a missing container: %v", err)
	}
	// The name is free again, so the same command starts anew.
	sh(t, rec.Command)
	if c = status(t, rec); !c.Running {
		t.Fatalf("after restart: %+v, want running", c)
	}
}

func TestRemoveRunningNamed(t *testing.T) {
	needDaemon(t)
	t.Parallel()
	rec := startNamed(t, uniqueName(t), testImage+" sleep 1000")
	if err := Remove(context.Background(), rec); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if c := status(t, rec); c.Exists {
		t.Fatalf("after Remove of a running container: %+v, want Exists=false", c)
	}
}

func TestLabelledContainer(t *testing.T) {
	needDaemon(t)
	t.Parallel()
	ctx := context.Background()
	name, other := uniqueName(t), uniqueName(t)
	removeOnCleanup(t, "label=bgrun.name="+name)
	removeOnCleanup(t, "label=bgrun.name="+other)

	plain := "docker run -d --init " + testLabel + " " + testImage + " sleep 1000"
	rec := Record{Name: name, Command: Label(plain, name)}
	if rec.Command == plain {
		t.Fatalf("Label(%q) did not label it", plain)
	}
	sh(t, rec.Command)
	// A container of another record, with the same image, must stay untouched.
	sh(t, Label(plain, other))

	c := status(t, rec)
	if !c.Exists || !c.Running {
		t.Fatalf("Status by label: %+v, want running", c)
	}
	// The record's own name finds the container even when the stored command is
	// the unlabelled one.
	if c2 := status(t, Record{Name: name, Command: plain}); c2.ID != c.ID {
		t.Errorf("Status of the unlabelled command: ID %q, want %q", c2.ID, c.ID)
	}

	if err := Stop(ctx, rec, 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if c = status(t, rec); c.Running || c.Status != "exited" {
		t.Fatalf("after Stop: %+v, want exited", c)
	}
	if err := Remove(ctx, rec); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if c = status(t, rec); c.Exists {
		t.Fatalf("after Remove: %+v, want Exists=false", c)
	}
	if c = status(t, Record{Name: other, Command: plain}); !c.Running {
		t.Fatalf("the other record's container: %+v, want it still running", c)
	}
}

func TestNameIsNotAnIDPrefix(t *testing.T) {
	needDaemon(t)
	t.Parallel()
	victim := startNamed(t, uniqueName(t), testImage+" sleep 1000")
	id := status(t, victim).ID
	// A record whose --name happens to be a prefix of another container's ID: docker
	// itself would resolve that prefix to the other container.
	rec := Record{Name: "prefix", Command: "docker run -d --name " + id[:12] + " " + testImage + " true"}
	if c := status(t, rec); c.Exists {
		t.Fatalf("Status of an absent name that is an ID prefix: %+v, want Exists=false", c)
	}
	if err := Remove(context.Background(), rec); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := Stop(context.Background(), rec, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if c := status(t, victim); !c.Running {
		t.Fatalf("the container with that ID prefix: %+v, want it still running", c)
	}
}

func TestPublishedPort(t *testing.T) {
	needDaemon(t)
	t.Parallel()
	rec := startNamed(t, uniqueName(t), "-p 127.0.0.1:0:8080 "+testImage+" httpd -f -p 8080 -h /")
	c := status(t, rec)
	if !c.Running || len(c.Ports) != 1 || c.Ports[0] <= 0 {
		t.Fatalf("Status: %+v, want one published host port", c)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", c.Ports[0])
	client := &http.Client{Timeout: 2 * time.Second}
	waitFor(t, "an HTTP answer on "+url, 20*time.Second, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

func TestLogs(t *testing.T) {
	needDaemon(t)
	t.Parallel()
	ctx := context.Background()
	rec := startNamed(t, uniqueName(t), testImage+` sh -c 'echo out-1; echo out-2; echo err-1 >&2'`)
	waitFor(t, "the container to exit", 20*time.Second, func() bool { return status(t, rec).Status == "exited" })

	var stdout, stderr bytes.Buffer
	if err := Logs(ctx, rec, 0, &stdout, &stderr); err != nil {
		t.Fatalf("Logs: %v", err)
	}
	if stdout.String() != "out-1\nout-2\n" || stderr.String() != "err-1\n" {
		t.Fatalf("Logs: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	// The tail counts lines of both streams together; Docker copies the two streams
	// concurrently, so only the order within one stream is known: out-1 is never last.
	if err := Logs(ctx, rec, 1, &stdout, &stderr); err != nil {
		t.Fatalf("Logs --tail 1: %v", err)
	}
	if got := stdout.String() + stderr.String(); strings.Count(got, "\n") != 1 || strings.Contains(got, "out-1") {
		t.Fatalf("Logs --tail 1: stdout %q, stderr %q; want one last line", stdout.String(), stderr.String())
	}

	missing := Record{Name: "missing", Command: "docker run --name " + uniqueName(t) + " " + testImage}
	if err := Logs(ctx, missing, 0, &stdout, &stderr); !errors.Is(err, ErrNoContainer) {
		t.Fatalf("Logs of a missing container: %v, want ErrNoContainer", err)
	}
}

func TestStatusBatch(t *testing.T) {
	needDaemon(t)
	realDocker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal(err)
	}
	named := startNamed(t, uniqueName(t), testImage+" sleep 1000")
	stopped := startNamed(t, uniqueName(t), testImage+" true")
	labelName := uniqueName(t)
	removeOnCleanup(t, "label=bgrun.name="+labelName)
	labelled := Record{Name: labelName, Command: Label("docker run -d --init "+testLabel+" "+testImage+" sleep 1000", labelName)}
	sh(t, labelled.Command)
	dir := t.TempDir()
	project := uniqueName(t)
	removeOnCleanup(t, "label=com.docker.compose.project="+project)
	// Compose is not installed here; containers with the labels Compose sets stand in
	// for a project's services, one running and one exited.
	for _, cmd := range []string{"sleep 1000", "true"} {
		sh(t, fmt.Sprintf("docker run -d --init %s --label com.docker.compose.project=%s --label com.docker.compose.project.working_dir=%s %s %s",
			testLabel, project, dir, testImage, cmd))
	}
	waitFor(t, "the short container to exit", 20*time.Second, func() bool { return status(t, stopped).Status == "exited" })

	recs := []Record{
		named, stopped, labelled,
		{Name: "missing", Command: "docker run --name " + uniqueName(t) + " " + testImage},
		{Name: "missing-label", Command: "docker run " + testImage},
		{Name: "compose", Command: "docker compose up", Dir: dir},
		{Name: "compose-by-project", Command: "docker compose -p " + project + " up -d", Dir: t.TempDir()},
		{Name: "compose-elsewhere", Command: "docker compose up", Dir: t.TempDir()},
		{Name: "plain", Command: "sleep 1000"},
	}

	// A wrapper around the real CLI counts the calls.
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >>%s\nexec %s \"$@\"\n", calls, realDocker)
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)

	got, err := Status(context.Background(), recs)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	log, _ := os.ReadFile(calls)
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ps -a") || !strings.HasPrefix(lines[1], "container inspect") {
		t.Errorf("docker calls:\n%s\nwant one ps -a and one container inspect", log)
	}
	check := func(name string, exists, running bool) {
		t.Helper()
		c, ok := got[name]
		if !ok || c.Exists != exists || c.Running != running {
			t.Errorf("%s: %+v (present %v), want Exists=%v Running=%v", name, c, ok, exists, running)
		}
	}
	check(named.Name, true, true)
	check(stopped.Name, true, false)
	check(labelled.Name, true, true)
	check("missing", false, false)
	check("missing-label", false, false)
	check("compose", true, true)
	check("compose-by-project", true, true)
	check("compose-elsewhere", false, false)
	if _, ok := got["plain"]; ok {
		t.Errorf("a non-docker record is in the result: %+v", got["plain"])
	}

	// Named records alone need no ps.
	if err := os.Remove(calls); err != nil {
		t.Fatal(err)
	}
	if _, err := Status(context.Background(), []Record{named, stopped}); err != nil {
		t.Fatalf("Status: %v", err)
	}
	log, _ = os.ReadFile(calls)
	if n := strings.Count(string(log), "\n"); n != 1 {
		t.Errorf("docker calls for named records only:\n%s\nwant one inspect", log)
	}
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	recs := []Record{{Name: "db", Command: "docker run --name bgrtest-db " + testImage}}
	check := func(t *testing.T) {
		t.Helper()
		start := time.Now()
		if _, err := Status(ctx, recs); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Status: %v, want ErrUnavailable", err)
		}
		if err := Stop(ctx, recs[0], time.Second); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Stop: %v, want ErrUnavailable", err)
		}
		if err := Remove(ctx, recs[0]); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Remove: %v, want ErrUnavailable", err)
		}
		if err := Logs(ctx, recs[0], 10, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Logs: %v, want ErrUnavailable", err)
		}
		t.Logf("four calls took %v", time.Since(start))
	}

	t.Run("no docker on PATH", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		check(t)
		// Records that run no container need no docker at all.
		m, err := Status(ctx, []Record{{Name: "web", Command: "npm start"}})
		if err != nil || len(m) != 0 {
			t.Errorf("Status of non-docker records: %v, %v; want an empty map", m, err)
		}
	})
	t.Run("no daemon", func(t *testing.T) {
		if _, err := exec.LookPath("docker"); err != nil {
			t.Skip("docker CLI not installed")
		}
		if runtime.GOOS == "windows" {
			t.Skip("unix socket path")
		}
		t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "none.sock"))
		check(t)
	})
}

func TestComposeCalls(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as a fake docker")
	}
	// A fake CLI records its directory and arguments: no compose is installed here,
	// and what matters is that the right project is addressed.
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	script := fmt.Sprintf("#!/bin/sh\n{ pwd; echo \"$0 $*\"; } >>%s\n", calls)
	for _, p := range []string{"docker", "docker-compose"} {
		if err := os.WriteFile(filepath.Join(bin, p), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	dir := t.TempDir()
	ctx := context.Background()
	v2 := Record{Name: "stack", Command: "docker compose -f dev.yml up -d", Dir: dir}
	v1 := Record{Name: "stack1", Command: "docker-compose -p shop up", Dir: dir}
	if err := Stop(ctx, v2, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := Remove(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if err := Logs(ctx, v2, 5, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		dir, filepath.Join(bin, "docker") + " compose -f dev.yml stop -t 3",
		dir, filepath.Join(bin, "docker-compose") + " -p shop rm -f -s",
		dir, filepath.Join(bin, "docker") + " compose -f dev.yml logs --no-color --tail 5",
	}, "\n") + "\n"
	got, _ := os.ReadFile(calls)
	if string(got) != want {
		t.Fatalf("calls:\n%s\nwant:\n%s", got, want)
	}
}

func TestNotDocker(t *testing.T) {
	rec := Record{Name: "web", Command: "npm start"}
	ctx := context.Background()
	if err := Stop(ctx, rec, time.Second); err == nil {
		t.Error("Stop of a non-docker record: no error")
	}
	if err := Remove(ctx, rec); err == nil {
		t.Error("Remove of a non-docker record: no error")
	}
	if err := Logs(ctx, rec, 0, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("Logs of a non-docker record: no error")
	}
}

func TestHungDaemon(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as a fake docker")
	}
	// A CLI that never answers stands in for a hung daemon: the call must give up
	// after its timeout and say the daemon is not reachable.
	bin := t.TempDir()
	script := "#!/bin/sh\nexec sleep 60\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	old := callTimeout
	callTimeout = 200 * time.Millisecond
	t.Cleanup(func() { callTimeout = old })
	_, err := Status(context.Background(), []Record{{Name: "db", Command: "docker run --name db img"}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Status with a hung CLI: %v, want ErrUnavailable", err)
	}
}
