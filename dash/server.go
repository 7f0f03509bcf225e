package dash

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"bgrun/stop"
	"bgrun/store"
)

//go:embed assets
var assets embed.FS

// indexTmpl is the page shell, parsed when first served (a command other
// than the dashboard never needs it); it receives .Version and .Token.
var indexTmpl = sync.OnceValue(func() *template.Template { return template.Must(template.ParseFS(assets, "assets/index.html")) })

// shutdownWait bounds a graceful shutdown: in-flight requests get this long.
const shutdownWait = 3 * time.Second

// csp allows only the dashboard's own files: no inline script or style, no
// other origin, no framing.
const csp = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// server is the dashboard's HTTP side: the API over its own store
// connection, and the sampler with a second one, so that the sampler's
// PRAGMA data_version also sees the API's own writes.
type server struct {
	db       *store.DB
	home     string
	version  string
	tokenSum [sha256.Size]byte
	hasToken bool
	token    string
	// ownerUID is the user whose local scripts need no token; -1 for none
	// (off loopback, or not Linux).
	ownerUID    int
	stopTimeout time.Duration
	sampler     *sampler
	cop         *http.CrossOriginProtection
	log         *log.Logger

	done     chan struct{} // closed at shutdown: SSE streams end
	doneOnce sync.Once
	cancel   context.CancelFunc
	mux      *http.ServeMux
}

// newServer opens the store twice (API and sampler) and starts the sampler,
// which stays idle until someone watches.
func newServer(o ServeOptions) (*server, error) {
	home := store.Folder(o.DBPath)
	db, err := store.Open(o.DBPath)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	sdb, err := store.Open(o.DBPath)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{
		db: db, home: home, version: o.Version, token: o.Token, hasToken: o.Token != "",
		stopTimeout: o.StopTimeout, cop: http.NewCrossOriginProtection(), ownerUID: -1,
		log:  log.New(os.Stderr, "", log.LstdFlags),
		done: make(chan struct{}), cancel: cancel,
	}
	s.tokenSum = sha256.Sum256([]byte(o.Token))
	if isLoopbackHost(o.Host) || o.Host == "" {
		s.ownerUID = os.Geteuid()
	}
	s.sampler = newSampler(sdb, s.log)
	go s.sampler.run(ctx)
	s.routes()
	return s, nil
}

// endStreams ends every open event stream.
func (s *server) endStreams() { s.doneOnce.Do(func() { close(s.done) }) }

// Close ends event streams, stops the sampler and closes the store.
func (s *server) Close() error {
	s.endStreams()
	s.cancel()
	s.sampler.wait()
	s.sampler.db.Close()
	return s.db.Close()
}

// serve answers on ln until ctx is done, then shuts down gracefully.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          s.log,
		// No WriteTimeout: event streams stay open; each SSE write sets
		// its own deadline instead.
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("dashboard: %w", err)
	case <-ctx.Done():
	}
	s.endStreams()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}

func (s *server) routes() {
	m := http.NewServeMux()
	sub, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	m.HandleFunc("GET /{$}", s.index)
	m.Handle("GET /assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	m.HandleFunc("GET /api/processes", s.processes)
	m.HandleFunc("GET /api/events", s.events)
	m.HandleFunc("POST /api/start", s.start)
	m.HandleFunc("POST /api/stop/{name}", s.ending(stop.Stop))
	m.HandleFunc("POST /api/restart/{name}", s.restart)
	m.HandleFunc("DELETE /api/processes/{name}", s.ending(stop.Delete))
	m.HandleFunc("POST /api/guard", s.guard)
	m.HandleFunc("GET /api/logs/{name}", s.logs)
	m.HandleFunc("GET /api/history", s.history)
	m.HandleFunc("GET /api/version", s.versionInfo)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such API route: %s %s", r.Method, r.URL.Path))
	})
	s.mux = m
}

// ServeHTTP applies the checks every request goes through, then routes it:
// security headers; proof that the request comes from the dashboard's owner
// (auth.go): the token, or a script of the owner's user on this machine;
// for requests that change anything, the same origin.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	cred := s.authenticate(r)
	if cred == noCredential {
		if host := hostOnly(r.Host); !s.hasToken && !isLoopbackHost(host) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("host %q is not allowed: without a token this dashboard "+
				"answers only to localhost; start it with --token to reach it by another name or through a proxy", host))
			return
		}
		writeError(w, http.StatusUnauthorized, fmt.Sprintf(loginHelp, store.TokenFile(s.home)))
		return
	}
	if err := s.sameOrigin(r); err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	if cred == byPageToken {
		s.setLoginCookie(w, r)
	}
	s.mux.ServeHTTP(w, r)
}

// sameOrigin refuses a request that changes something when it comes from
// another origin: what http.CrossOriginProtection says (Sec-Fetch-Site, or
// Origin against Host), and in any case an Origin whose host is not the
// request's Host.
func (s *server) sameOrigin(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := s.cop.Check(r); err != nil {
		return fmt.Errorf("cross-origin request refused: %w", err)
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("cross-origin request refused: origin %q is not %q", o, r.Host)
		}
	}
	return nil
}

// hostOnly strips the port from a Host header.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// index renders the page shell with the version. The token is never in the
// page: the page's requests carry the login cookie.
func (s *server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := indexTmpl().Execute(w, struct{ Version string }{s.version})
	if err != nil {
		s.log.Printf("render page: %v", err)
	}
}

// writeJSON answers v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode answer: "+err.Error())
		return
	}
	writeRaw(w, code, b)
}

func writeRaw(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte{'\n'})
}

// writeError answers {"error": msg} with status code.
func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	writeRaw(w, code, b)
}
