package watch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"bgrun/run"
	"bgrun/store"
)

// maxCall bounds a request: a start carries the caller's environment, a few
// kilobytes as a rule.
const maxCall = 8 << 20

// serve answers the requests that come on ln, each in a goroutine of its
// own, until ln is closed.
func (s *supervisor) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go s.answer(c)
	}
}

// answer reads one request from c and answers it (see run.Ask).
func (s *supervisor) answer(c net.Conn) {
	defer c.Close()
	if err := run.CheckPeer(c); err != nil {
		s.log.Printf("request refused: %v", err)
		return
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var call run.Call
	if err := json.NewDecoder(io.LimitReader(c, maxCall)).Decode(&call); err != nil {
		if !errors.Is(err, io.EOF) { // EOF: a look whether it answers
			s.log.Printf("bad request: %v", err)
		}
		return
	}
	c.SetReadDeadline(time.Time{})
	out := &replies{enc: json.NewEncoder(c)}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		out.send(run.Reply{Closing: true})
		return
	}
	s.active++
	name := ""
	if call.Start != nil {
		name = call.Start.Name
		s.inflight[name]++
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	out.send(run.Reply{Accepted: true})
	switch {
	case call.Start != nil:
		res, err := s.start(*call.Start, out)
		// The loop follows what it started, and watches it when asked; the
		// caller hears of it after.
		ack := make(chan (<-chan struct{}), 1)
		s.events <- event{kind: evStarted, name: name, res: res, err: err, request: true, ack: ack}
		if ready := <-ack; ready != nil {
			select {
			case <-ready:
			case <-time.After(10 * time.Second): // a huge tree: the caller need not wait for all of it
			}
		}
		if err != nil {
			out.send(run.Reply{Err: run.ToWire(err)})
			return
		}
		out.send(run.Reply{Done: &res})
	case call.Await != nil:
		res, err := s.await(*call.Await)
		if err != nil {
			out.send(run.Reply{Err: run.ToWire(err)})
			return
		}
		out.send(run.Reply{Done: &res})
	default:
		out.send(run.Reply{Err: run.ToWire(store.Errorf(store.KindBadInput, "empty request"))})
	}
}

// await answers how the start a.Marker of a.Name went, which a supervisor
// killed during it was making: this supervisor settled it when it began
// (see settle), or it is still in its window.
func (s *supervisor) await(a run.Await) (run.Result, error) {
	for deadline := time.Now().Add(time.Minute); ; {
		r, err := s.db.Get(a.Name)
		switch {
		case err != nil:
			return run.Result{}, err
		case r.Instance != a.Marker:
			return run.Result{}, store.Errorf(store.KindConflict, "%s was stopped or started anew while it started", a.Name)
		case r.Status == store.StatusStarting && time.Now().Before(deadline):
			time.Sleep(20 * time.Millisecond)
			continue
		case r.Status == store.StatusRunning, r.Status.Ended():
			return run.Result{Record: r}, nil
		case r.Status == store.StatusStopped:
			return run.Result{}, store.Errorf(store.KindConflict, "%s was stopped while it started", a.Name)
		}
		return run.Result{}, store.Errorf(store.KindFailedStart, "%s did not start: %s", a.Name, r.FailReason)
	}
}

// start runs a requested start through the one start pipeline. A watched
// record's ignore rules are read first, so that a bad .bgrunignore fails
// the start at once rather than in the supervisor's log.
func (s *supervisor) start(o run.Options, out io.Writer) (run.Result, error) {
	dir, ignore, watch := o.Dir, o.Ignore, o.Watch
	if r, err := s.db.Get(o.Name); err == nil && (o.Restart || o.Command == "") {
		if dir == "" {
			dir = r.Dir
		}
		if ignore == nil {
			ignore = r.WatchIgnore
		}
		watch = watch || r.Watch
	}
	if watch && dir != "" {
		if _, err := newIgnore(dir, ignore, nil); err != nil {
			return run.Result{}, err
		}
	}
	return run.Start(s.starts, s.db, o, out)
}

// replies writes the lines of an answer; each Write of the start pipeline's
// progress is one "say" line. A caller that went away is no failure: the
// start goes on.
type replies struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (r *replies) send(rep run.Reply) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.enc.Encode(rep)
}

// Began says the marker of the start the request began.
func (r *replies) Began(marker string) { r.send(run.Reply{Marker: marker}) }

func (r *replies) Write(b []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		r.send(run.Reply{Say: string(line)})
	}
	return len(b), nil
}
