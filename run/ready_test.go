package run

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseReady(t *testing.T) {
	for in, want := range map[string]ReadySpec{
		"http://127.0.0.1:8080/health": {Kind: ReadyHTTP, URL: "http://127.0.0.1:8080/health"},
		"http://localhost/":            {Kind: ReadyHTTP, URL: "http://localhost/"},
		"https://example.test:8443/x":  {Kind: ReadyHTTP, URL: "https://example.test:8443/x"},
		"tcp:8080":                     {Kind: ReadyTCP, Addr: "127.0.0.1:8080"},
		"tcp:0.0.0.0:9000":             {Kind: ReadyTCP, Addr: "0.0.0.0:9000"},
		"tcp:[::1]:9000":               {Kind: ReadyTCP, Addr: "[::1]:9000"},
		"cmd:test -f ready":            {Kind: ReadyCmd, Command: "test -f ready"},
		"cmd:curl -fs http://x:1/a:b":  {Kind: ReadyCmd, Command: "curl -fs http://x:1/a:b"},
	} {
		got, err := ParseReady(in)
		if err != nil || got != want {
			t.Errorf("ParseReady(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "8080", "tcp:", "tcp:0", "tcp:65536", "tcp:http", "tcp:host:", "cmd:", "cmd:   ",
		"http://", "http://:80/", "http://h:99999/", "ftp://x/", "udp:53"} {
		_, err := ParseReady(in)
		if !errors.Is(err, ErrBadReadySpec) {
			t.Errorf("ParseReady(%q): %v, want ErrBadReadySpec", in, err)
		}
	}
}

func TestProbeHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			// Not followed: a 3xx is an answer, even to a place that fails.
			http.Redirect(w, r, "/fail", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	for path, ok := range map[string]bool{"/ok": true, "/moved": true, "/fail": false} {
		err := Probe(ctx, srv.URL+path, "", nil)
		if (err == nil) != ok {
			t.Errorf("probe %s: %v, want ok=%v", path, err, ok)
		}
	}
	if err := Probe(ctx, srv.URL+"/fail", "", nil); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a 503 says %v", err)
	}
}

func TestProbeTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	if err := Probe(context.Background(), "tcp:"+port, "", nil); err != nil {
		t.Errorf("a listening port: %v", err)
	}
	ln.Close()
	if err := Probe(context.Background(), "tcp:"+port, "", nil); err == nil {
		t.Errorf("a closed port answered")
	}
}

func TestProbeCmd(t *testing.T) {
	dir := t.TempDir()
	env := append(os.Environ(), "READY_FILE=flag")
	spec := `cmd:test -f "$READY_FILE"`
	if err := Probe(context.Background(), spec, dir, env); err == nil {
		t.Fatal("ready before the file exists")
	}
	os.WriteFile(filepath.Join(dir, "flag"), nil, 0o600)
	if err := Probe(context.Background(), spec, dir, env); err != nil {
		t.Fatalf("not ready with the file in its folder: %v", err)
	}
	err := Probe(context.Background(), "cmd:echo not yet >&2; exit 4", dir, env)
	if err == nil || !strings.Contains(err.Error(), "not yet") || !strings.Contains(err.Error(), "4") {
		t.Fatalf("a failing command says %v; want its status and output", err)
	}
}
