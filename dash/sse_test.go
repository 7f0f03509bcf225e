package dash

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bgrun/stop"
)

// TestEvents follows a stream while the "CLI" (another store connection)
// starts and stops a process.
func TestEvents(t *testing.T) {
	e := newEnv(t, "")
	res, err := http.Get(e.ts.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	br := bufio.NewReader(res.Body)
	if l, _ := br.ReadString('\n'); l != "retry: 2000\n" {
		t.Errorf("first line %q, want retry: 2000", l)
	}
	r := &sseReader{res: res, br: br}
	first, err := r.next()
	if err != nil || len(first) != 0 {
		t.Fatalf("first event = %v, %v", first, err)
	}

	rec := e.start("sse1", "exec sleep 60")
	list, err := r.until(5*time.Second, func(l []procJSON) bool {
		p, ok := find(l, "sse1")
		return ok && p.Running
	})
	if err != nil {
		t.Fatalf("the started process never showed: %v", err)
	}
	if p, _ := find(list, "sse1"); p.PID != rec.PID {
		t.Errorf("pid %d, want %d", p.PID, rec.PID)
	}
	if _, err := stop.Stop(context.Background(), e.db, "sse1", stop.Options{Timeout: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.until(5*time.Second, func(l []procJSON) bool {
		p, ok := find(l, "sse1")
		return ok && !p.Running && p.Status == "stopped"
	}); err != nil {
		t.Fatalf("the stop never showed: %v", err)
	}
}

// TestEventsProcessDies checks that a process ending on its own (no store
// change at all) is pushed too.
func TestEventsProcessDies(t *testing.T) {
	e := newEnv(t, "")
	rec := e.start("short", "exec sleep 60")
	r := e.events("")
	if _, err := r.until(5*time.Second, func(l []procJSON) bool { p, ok := find(l, "short"); return ok && p.Running }); err != nil {
		t.Fatal(err)
	}
	p, _ := os.FindProcess(rec.PID)
	p.Kill()
	if _, err := r.until(5*time.Second, func(l []procJSON) bool { p, ok := find(l, "short"); return ok && !p.Running }); err != nil {
		t.Fatalf("the death never showed: %v", err)
	}
}

// TestEventsPorts checks that a port a process starts listening on shows in
// the stream.
func TestEventsPorts(t *testing.T) {
	e := newEnv(t, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := e.events("")
	e.start("srv", helperCommand("listen", strconv.Itoa(port)))
	if _, err := r.until(8*time.Second, func(l []procJSON) bool {
		p, ok := find(l, "srv")
		return ok && len(p.Ports) == 1 && p.Ports[0] == port
	}); err != nil {
		t.Fatalf("port %d never showed: %v", port, err)
	}
}

// TestEventsManyClients opens fifty streams and checks that a change
// reaches all of them.
func TestEventsManyClients(t *testing.T) {
	e := newEnv(t, "")
	const n = 50
	readers := make([]*sseReader, n)
	for i := range readers {
		readers[i] = e.events("")
		if _, err := readers[i].next(); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	e.start("fanout", "exec sleep 60")
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.until(5*time.Second, func(l []procJSON) bool { _, ok := find(l, "fanout"); return ok }); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestEventsSlowClient checks that a client that never reads does not hold
// up the others.
func TestEventsSlowClient(t *testing.T) {
	e := newEnv(t, "")
	// The slow client connects and then never reads a byte.
	c, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	fast := e.events("")
	fast.next()
	for i := range 3 {
		name := "p" + strconv.Itoa(i)
		e.start(name, "exec sleep 60")
		if _, err := fast.until(5*time.Second, func(l []procJSON) bool { _, ok := find(l, name); return ok }); err != nil {
			t.Fatalf("fast client stuck behind a slow one: %v", err)
		}
	}
}

// TestServeShutdown runs serve on a busy default port and checks the
// fallback, the listening line, and a graceful end that closes streams.
func TestServeShutdown(t *testing.T) {
	e := newEnv(t, "")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- serve(ctx, ServeOptions{Port: port, DBPath: e.db.Path(), Version: "v", Out: out})
	}()
	re := regexp.MustCompile(`^bgrun dashboard listening on http://127\.0\.0\.1:(\d+)\n$`)
	waitFor(t, 5*time.Second, "the listening line", func() bool { return re.MatchString(out.String()) })
	got, _ := strconv.Atoi(re.FindStringSubmatch(out.String())[1])
	if got <= port {
		t.Fatalf("listening on %d; port %d was busy, so want a later one", got, port)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", got)
	res, err := http.Get(base + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	br.ReadString('\n')
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := io.ReadAll(br); err != nil {
		t.Errorf("stream did not end cleanly: %v", err)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", got)); err == nil {
		c.Close()
		t.Errorf("still listening after shutdown")
	}
}

// TestServeExplicitBusy checks that an explicit busy port fails with who
// holds it, and that the holder lives on.
func TestServeExplicitBusy(t *testing.T) {
	e := newEnv(t, "")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	err = serve(context.Background(), ServeOptions{Port: port, Explicit: true, DBPath: e.db.Path(), Out: io.Discard})
	want := fmt.Sprintf("port %d is in use by pid %d (", port, os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Serve on busy %d: %v; want %q", port, err, want)
	}
	c, err := net.Dial("tcp", busy.Addr().String())
	if err != nil {
		t.Fatalf("the holder of the port stopped listening: %v", err)
	}
	c.Close()
}

func TestServeToken(t *testing.T) {
	e := newEnv(t, "")
	err := serve(context.Background(), ServeOptions{Host: "0.0.0.0", DBPath: e.db.Path(), Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "needs a token") {
		t.Fatalf("Serve on 0.0.0.0 without a token: %v", err)
	}
	t.Setenv(tokenEnv, "from-env")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- serve(ctx, ServeOptions{Port: port, Explicit: true, DBPath: e.db.Path(), Out: out})
	}()
	defer func() {
		cancel()
		<-errc
	}()
	waitFor(t, 5*time.Second, "the server", func() bool { return strings.Contains(out.String(), "listening") })
	if v := os.Getenv(tokenEnv); v != "" {
		t.Errorf("the token stays in the environment, where started processes would inherit it")
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/api/version", port)
	for _, c := range []struct {
		hdr  []string
		want int
	}{
		{[]string{"Sec-Fetch-Site", "none"}, 401}, // a browser without the cookie
		{[]string{"Sec-Fetch-Site", "none", "Authorization", "Bearer from-env"}, 200},
		{[]string{"Authorization", "Bearer nope", "Origin", "http://x"}, 401},
	} {
		req, _ := http.NewRequest("GET", base, nil)
		for i := 0; i < len(c.hdr); i += 2 {
			req.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("GET %v: %d, want %d", c.hdr, res.StatusCode, c.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
