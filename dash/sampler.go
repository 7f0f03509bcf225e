package dash

import (
	"context"
	"encoding/json"
	"log"
	"math"
	"net/http"
	"sync"
	"time"

	"bgrun/ps"
	"bgrun/store"
)

const (
	// sampleEvery is how often the sampler lists processes while someone
	// watches: a process that died or changed ports shows within it.
	sampleEvery = time.Second
	// versionEvery is how often it asks the store whether a CLI, a
	// supervisor or the API changed a record.
	versionEvery = 250 * time.Millisecond
	// metricsEvery is how often a change of CPU, memory or uptime alone is
	// pushed; a change of state is pushed at once.
	metricsEvery = 2 * time.Second
	// pointEvery is how often a point is added to the histories, and the
	// interval the CPU rate is computed over; samples in between share it.
	pointEvery = 2 * time.Second
	// historyLen is how many points a sparkline keeps: three minutes. Every
	// push carries them all, so they are what a push weighs: about 1 kB
	// per process.
	historyLen = 90
	// keepaliveEvery is how often an idle event stream gets a comment, so
	// proxies do not close it.
	keepaliveEvery = 15 * time.Second
	// writeWait bounds one write to an event stream: a client that stops
	// reading is dropped rather than holding a goroutine forever.
	writeWait = 10 * time.Second
)

// procJSON is a process as the dashboard sends it: ps.Process, with CPU as
// the recent rate, and the recent CPU and memory samples, oldest first.
type procJSON struct {
	ps.Process
	CPUHistory    []float64 `json:"cpu_history"`
	MemoryHistory []int64   `json:"memory_history"`
}

// frame is one encoded list: the JSON array, and the same bytes as an SSE
// message, made once and written to every client.
type frame struct {
	seq  uint64
	at   time.Time
	ver  int64 // the store's data_version when it was sampled
	json []byte
	sse  []byte
}

// series is the sampling state of one name.
type series struct {
	pid     int
	started time.Time
	ticks   uint64 // CPU ticks of the tree at the last point
	at      time.Time
	cpu     float64 // the last rate, percent of one core
	cpuHist []float64
	memHist []int64
}

// subscriber is one event stream. Its channel holds at most one frame, the
// latest: a slow client skips frames, it never blocks the others.
type subscriber struct {
	c chan *frame
}

// sampler lists the processes for every client at once: while at least one
// event stream is open it polls the store's data_version every
// versionEvery and lists processes (one /proc scan, one socket listing)
// every sampleEvery or when the version moved, and pushes the list when
// something changed. With no stream open it does nothing; GET
// /api/processes then samples on demand, cached for a second.
type sampler struct {
	db  *store.DB
	log *log.Logger

	sampleMu sync.Mutex // one sample at a time; guards series, sig, lastPush, lastErr
	series   map[string]*series
	sig      string
	lastPush time.Time
	lastErr  string

	mu    sync.Mutex // guards subs, cur, seq, stale
	subs  map[*subscriber]struct{}
	cur   *frame
	seq   uint64
	stale bool

	wake    chan struct{}
	pokec   chan struct{}
	stopped chan struct{}
}

func newSampler(db *store.DB, l *log.Logger) *sampler {
	return &sampler{
		db: db, log: l, series: map[string]*series{}, subs: map[*subscriber]struct{}{},
		wake: make(chan struct{}, 1), pokec: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
}

// run samples while anyone watches, until ctx is done.
func (s *sampler) run(ctx context.Context) {
	defer close(s.stopped)
	for {
		for s.watchers() == 0 {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
		}
		s.watch(ctx)
		if ctx.Err() != nil {
			return
		}
	}
}

// wait returns once run has returned.
func (s *sampler) wait() { <-s.stopped }

func (s *sampler) watch(ctx context.Context) {
	tick := time.NewTicker(versionEvery)
	defer tick.Stop()
	ver, _ := s.db.DataVersion(ctx)
	s.refresh()
	for s.watchers() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-s.pokec:
			s.refresh()
		case <-tick.C:
			v, err := s.db.DataVersion(ctx)
			moved := err == nil && v != ver
			if err == nil {
				ver = v
			}
			// A tick early rather than late: a death shows within
			// sampleEvery, not sampleEvery plus a tick.
			if moved || s.age() >= sampleEvery-versionEvery {
				s.refresh()
			}
		}
	}
}

func (s *sampler) refresh() {
	if _, err := s.sample(0); err != nil {
		s.sampleMu.Lock()
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.log.Printf("list processes: %v", err)
		}
		s.sampleMu.Unlock()
	}
}

func (s *sampler) watchers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// age is the time since the last sample.
func (s *sampler) age() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return time.Duration(math.MaxInt64)
	}
	return time.Since(s.cur.at)
}

// poke asks for a fresh sample now: the API changed something.
func (s *sampler) poke() {
	s.mu.Lock()
	s.stale = true
	s.mu.Unlock()
	select {
	case s.pokec <- struct{}{}:
	default:
	}
}

// current returns the latest list if it is younger than maxAge and no
// record changed since, else a new sample.
func (s *sampler) current(maxAge time.Duration) (*frame, error) {
	if f := s.fresh(maxAge); f != nil {
		return f, nil
	}
	return s.sample(maxAge)
}

// fresh returns the latest list if it is younger than maxAge and the store
// has not changed since; nil otherwise.
func (s *sampler) fresh(maxAge time.Duration) *frame {
	s.mu.Lock()
	f := s.cur
	ok := f != nil && !s.stale && time.Since(f.at) < maxAge
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if v, err := s.db.DataVersion(context.Background()); err != nil || v != f.ver {
		return nil
	}
	return f
}

// sample lists the processes, updates the histories and pushes the list to
// the subscribers if its state changed, or if its metrics did and the last
// push is metricsEvery old. A caller that waited for another sample in
// progress gets that one when it is younger than maxAge.
func (s *sampler) sample(maxAge time.Duration) (*frame, error) {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	if f := s.fresh(maxAge); f != nil {
		return f, nil
	}
	s.mu.Lock()
	s.stale = false
	s.mu.Unlock()
	ver, err := s.db.DataVersion(context.Background())
	if err != nil {
		return nil, err
	}
	// One sample serves every client: no one client's going away cuts it.
	procs, err := ps.List(context.Background(), s.db, ps.Options{})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	list := make([]procJSON, 0, len(procs))
	seen := make(map[string]bool, len(procs))
	for _, p := range procs {
		if p.Name == Name {
			continue
		}
		seen[p.Name] = true
		list = append(list, s.track(p, now))
	}
	for name := range s.series {
		if !seen[name] {
			delete(s.series, name)
		}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	sig := signature(list)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	f := &frame{seq: s.seq, at: now, ver: ver, json: b, sse: sseMessage(b)}
	s.cur = f
	if len(s.subs) > 0 && (sig != s.sig || now.Sub(s.lastPush) >= metricsEvery) {
		s.sig, s.lastPush = sig, now
		s.publish(f)
	}
	return f, nil
}

// publish hands f to every subscriber, replacing a frame it has not taken
// yet. s.mu is held, so this is the only sender and never blocks.
func (s *sampler) publish(f *frame) {
	for sub := range s.subs {
		select {
		case sub.c <- f:
		default:
			select {
			case <-sub.c:
			default:
			}
			sub.c <- f
		}
	}
}

// track adds the sample p to its series and returns p as sent: CPU is the
// rate since the previous point. A process seen for the first time has no
// previous point; its average since start stands in until the next one.
func (s *sampler) track(p ps.Process, now time.Time) procJSON {
	sr := s.series[p.Name]
	if sr == nil {
		sr = &series{cpuHist: make([]float64, 0, historyLen), memHist: make([]int64, 0, historyLen)}
		s.series[p.Name] = sr
	}
	switch {
	case !p.Running:
		sr.pid = 0
	case sr.pid != p.PID || !sr.started.Equal(p.StartedAt):
		sr.pid, sr.started, sr.ticks, sr.at, sr.cpu = p.PID, p.StartedAt, p.CPUTicks, now, p.CPU
		sr.add(p.Memory)
	case now.Sub(sr.at) >= pointEvery-versionEvery:
		var d uint64
		if p.CPUTicks > sr.ticks { // a member that left takes its ticks along
			d = p.CPUTicks - sr.ticks
		}
		sr.cpu = float64(d) / ps.ClockTicks / now.Sub(sr.at).Seconds() * 100
		sr.ticks, sr.at = p.CPUTicks, now
		sr.add(p.Memory)
	}
	if p.Running {
		p.CPU = round1(sr.cpu)
	}
	return procJSON{Process: p, CPUHistory: sr.cpuHist, MemoryHistory: sr.memHist}
}

func (sr *series) add(mem int64) {
	if len(sr.cpuHist) == historyLen {
		copy(sr.cpuHist, sr.cpuHist[1:])
		copy(sr.memHist, sr.memHist[1:])
		sr.cpuHist, sr.memHist = sr.cpuHist[:historyLen-1], sr.memHist[:historyLen-1]
	}
	sr.cpuHist = append(sr.cpuHist, round1(sr.cpu))
	sr.memHist = append(sr.memHist, mem)
}

// decorate returns p with the recent CPU rate and copies of its histories,
// for answers about one process.
func (s *sampler) decorate(p ps.Process) procJSON {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	out := procJSON{Process: p, CPUHistory: []float64{}, MemoryHistory: []int64{}}
	if sr := s.series[p.Name]; sr != nil {
		out.CPUHistory = append(out.CPUHistory, sr.cpuHist...)
		out.MemoryHistory = append(out.MemoryHistory, sr.memHist...)
		if p.Running && sr.pid == p.PID && sr.started.Equal(p.StartedAt) {
			out.CPU = round1(sr.cpu)
		}
	}
	return out
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// signature is what makes a change worth pushing at once: everything but
// the metrics that move on every sample.
func signature(list []procJSON) string {
	type state struct {
		Name, Status, Detail  string
		PID                   int
		Running               bool
		Ports                 []int
		Guarded, Watched, Sup bool
		Restarts              int
		Backoff               string
		GaveUp, Docker        bool
		LastExit              *ps.Exit
		Command, Dir, Group   string
		Started               time.Time
	}
	st := make([]state, len(list))
	for i, p := range list {
		st[i] = state{p.Name, string(p.Status), p.StatusDetail, p.PID, p.Running, p.Ports, p.Guarded, p.Watched,
			p.Supervised, p.Restarts, p.Backoff, p.GaveUp, p.Docker, p.LastExit, p.Command, p.Directory,
			p.Group, p.StartedAt}
	}
	b, _ := json.Marshal(st)
	return string(b)
}

// sseMessage frames a JSON array as one unnamed SSE event. encoding/json
// escapes newlines inside strings, so the array is a single data line.
func sseMessage(b []byte) []byte {
	m := make([]byte, 0, len(b)+8)
	m = append(m, "data: "...)
	m = append(m, b...)
	return append(m, "\n\n"...)
}

func (s *sampler) subscribe() *subscriber {
	sub := &subscriber{c: make(chan *frame, 1)}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return sub
}

func (s *sampler) unsubscribe(sub *subscriber) {
	s.mu.Lock()
	delete(s.subs, sub)
	s.mu.Unlock()
}

// events is GET /api/events: the list at once, then every change, with a
// keepalive comment when idle; `retry: 2000` makes browsers reconnect fast
// after a server restart.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	sub := s.sampler.subscribe()
	defer s.sampler.unsubscribe(sub)
	f, err := s.sampler.current(sampleEvery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	write := func(parts ...[]byte) bool {
		rc.SetWriteDeadline(time.Now().Add(writeWait))
		for _, b := range parts {
			if _, err := w.Write(b); err != nil {
				return false
			}
		}
		return rc.Flush() == nil
	}
	if !write([]byte("retry: 2000\n\n"), f.sse) {
		return
	}
	last := f.seq
	keep := time.NewTicker(keepaliveEvery)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case f := <-sub.c:
			if f.seq <= last {
				continue
			}
			last = f.seq
			if !write(f.sse) {
				return
			}
		case <-keep.C:
			if !write([]byte(": keepalive\n\n")) {
				return
			}
		}
	}
}
