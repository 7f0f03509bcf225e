package watch

import (
	"time"

	"bgrun/run"
	"bgrun/store"
)

// The supervisor's periodic duties (see dutyChecks): log rotation of every
// running record of the store, health checks of guarded records with a
// readiness check, and memory limits.

// checkEvery is the longest time between two rounds of checks (shorter
// for a --health-interval below it). dutyChecks runs each check only when it is
// due; a round costs one process snapshot and a stat of each log, so rounds
// are not made more often than some check can be due.
const checkEvery = rotateEvery

// noteDuties takes the records of a scan: the running ones are checked
// from now on, and what dutyChecks remembers of a record that is gone is
// forgotten.
func (s *supervisor) noteDuties(recs []store.Record) {
	names := map[string]bool{}
	s.checked = s.checked[:0]
	for _, r := range recs {
		names[r.Name] = true
		if r.Status == store.StatusRunning {
			s.checked = append(s.checked, r)
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
// decisions: a restart.
func (s *supervisor) checkDuties() {
	now := time.Now()
	if now.Before(s.checkAt) || len(s.checked) == 0 {
		return
	}
	every := checkEvery
	var recs []store.Record
	for _, r := range s.checked {
		if t := s.recs[r.Name]; t == nil || t.busy || t.marker != r.Instance {
			continue
		}
		if r.Guard && r.Ready != "" {
			every = min(every, max(r.HealthEvery(), tick))
		}
		recs = append(recs, r)
	}
	s.checkAt = now.Add(every)
	for _, d := range s.periodic.CheckAll(s.ctx, recs, now) {
		if t := s.recs[d.Name]; t != nil && !t.busy {
			s.restartFor(t, d)
		}
	}
}

// restartFor restarts t for decision d (unhealthy, max_memory): the history
// says why, and the start ends the old tree first.
func (s *supervisor) restartFor(t *tracked, d decision) {
	r, err := s.db.Get(t.name)
	if err != nil || r.Status != store.StatusRunning || r.Instance != t.marker {
		return // the next scan sees what changed
	}
	s.log.Printf("%s: %s: restarting", t.name, d.Reason)
	if err := s.db.AddEvent(store.Event{Name: r.Name, Event: d.Action.Event(), PID: r.PID,
		Detail: store.Detail{Reason: d.Reason}}); err != nil {
		s.log.Printf("%s: history: %v", r.Name, err)
	}
	s.launch(t, run.Options{Name: t.name, Restart: true, Reason: d.Reason,
		Expect: store.Cond{Marker: r.Instance, Status: []store.Status{store.StatusRunning}}})
}
