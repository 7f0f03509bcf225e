package watch

import (
	"errors"
	"time"

	"bgrun/ps"
	"bgrun/run"
	"bgrun/stop"
	"bgrun/store"
)

// The supervisor's periodic duties (see Duties): log rotation of every
// running record of the store, health checks of guarded records with a
// readiness check, and memory limits. They are not a duty of the duty
// interface, which is per tracked (guarded or watched) record: rotation
// and memory limits are for every running record, tracked or not.

// checkEvery is the longest time between two rounds of checks (shorter
// for a --health-interval below it). Duties runs each check only when it is
// due; a round costs one process snapshot and a stat of each log, so rounds
// are not made more often than some check can be due.
const checkEvery = RotateEvery

// errAborted is a start whose record changed meanwhile (stopped, deleted,
// or started elsewhere): the start was ended.
var errAborted = errors.New("the record changed while it started")

// noteDuties takes the records of a scan: those with periodic duties are
// checked from now on, and what Duties remembers of a record that is gone
// is forgotten.
func (s *supervisor) noteDuties(recs []store.Record) {
	names := map[string]bool{}
	s.checked, s.untracked = s.checked[:0], 0
	for _, r := range recs {
		names[r.Name] = true
		needs, has := Needs(r), hasDuties(r)
		if needs || has {
			s.checked = append(s.checked, r)
		}
		if !needs && has {
			s.untracked++
		}
	}
	s.periodic.mu.Lock()
	var gone []string
	for name := range s.periodic.state {
		if !names[name] {
			gone = append(gone, name)
		}
	}
	s.periodic.mu.Unlock()
	for _, name := range gone {
		s.periodic.Forget(name)
	}
}

// checkDuties runs a round of checks when one is due and acts on its
// decisions: a restart, through the guard's path for a tracked record.
func (s *supervisor) checkDuties() {
	now := time.Now()
	if now.Before(s.checkAt) || len(s.checked) == 0 {
		return
	}
	every := checkEvery
	var recs []store.Record
	for _, r := range s.checked {
		if t := s.recs[r.Name]; (t != nil && t.busy) || s.plainBusy[r.Name] {
			continue
		}
		if r.Guard && r.Ready != "" {
			every = min(every, max(r.HealthEvery(), tick))
		}
		recs = append(recs, r)
	}
	s.checkAt = now.Add(every)
	for _, d := range s.periodic.CheckAll(s.ctx, recs, now) {
		if t := s.recs[d.Name]; t != nil {
			s.restartFor(t, d)
		} else {
			s.restartPlain(d)
		}
	}
}

// restartFor ends t's tree and starts it again, as the guard does, for
// decision d (unhealthy, max_memory).
func (s *supervisor) restartFor(t *tracked, d Decision) {
	r, err := s.db.Get(t.name)
	if err != nil || t.busy || identOf(r) != t.want || r.Status != store.StatusRunning {
		return // the next scan sees what changed
	}
	s.log.Printf("%s: %s: restarting", t.name, d.Reason)
	t.busy, t.leader, t.follow, t.retryAt, t.change = true, nil, false, time.Time{}, ""
	go func() {
		s.ended(r, d)
		s.events <- event{kind: evStarted, name: r.Name, t: t, start: s.start(r, identOf(r), store.EventRestart)}
	}()
}

// restartPlain is restartFor for a record the guard does not keep (a plain
// start with --max-memory): the supervisor starts it again and records how
// that went, and then lets it be.
func (s *supervisor) restartPlain(d Decision) {
	r, err := s.db.Get(d.Name)
	if err != nil || Needs(r) || !hasDuties(r) || r.Status != store.StatusRunning {
		return
	}
	s.log.Printf("%s: %s: restarting", r.Name, d.Reason)
	s.plainBusy[r.Name] = true
	go func() {
		defer func() { s.events <- event{kind: evPlainDone, name: r.Name} }()
		s.ended(r, d)
		res := s.start(r, identOf(r), store.EventRestart)
		if res.aborted {
			return
		}
		t := &tracked{name: r.Name, want: res.want}
		if res.err == nil {
			s.write(t, func(rec *store.Record) { rec.Status = store.StatusRunning; rec.Restarts++ },
				store.EventRestart, res.rec.PID, run.StartDetail(res.rec))
			return
		}
		s.log.Printf("%s: %v", r.Name, res.err)
		s.write(t, func(rec *store.Record) { rec.Status, rec.ExitedAt = store.StatusFailed, time.Now() },
			store.EventFailed, res.rec.PID, map[string]any{"error": res.err.Error()})
	}()
}

// ended records decision d on r (history event unhealthy or max_memory,
// with its reason) and ends r's tree.
func (s *supervisor) ended(r store.Record, d Decision) {
	if err := s.db.AddEvent(store.Event{Name: r.Name, Event: d.Action.Event(), PID: r.PID,
		Detail: map[string]any{"reason": d.Reason}}); err != nil {
		s.log.Printf("%s: history: %v", r.Name, err)
	}
	if _, err := stop.TreeOf(ps.OwnerOf(r), s.timeout); err != nil {
		s.log.Printf("%s: %v", r.Name, err)
	}
}

// awaitReady is the readiness wait of a start by the supervisor, after its
// startup window: the record says starting meanwhile; a process never
// ready is ended and its start fails (the guard then tries again).
func (s *supervisor) awaitReady(t *tracked, r *store.Record, env []string) error {
	if !s.write(t, func(rec *store.Record) { rec.Status = store.StatusStarting }, "", 0, nil) {
		s.log.Printf("%s: record changed while starting; ending pid %d", r.Name, r.PID)
		stop.TreeOf(ps.OwnerOf(*r), s.timeout)
		return errAborted
	}
	err := run.WaitReady(s.ctx, r, env)
	var nre *run.NotReadyError
	if errors.As(err, &nre) {
		if serr := run.StopNotReady(s.db, r, nre); serr != nil {
			s.log.Printf("%s: %v", r.Name, serr)
		}
		r.ExitedAt = time.Now()
	}
	return err
}
