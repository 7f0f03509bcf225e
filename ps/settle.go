package ps

import (
	"bgrun/store"
)

// Interrupted reports whether r is a start that no one is finishing: it is
// marked starting, but no supervisor of it runs. The caller must hold r's
// lock, or the starter may simply not be done yet.
func Interrupted(r store.Record, t Table) bool {
	return r.Status == store.StatusStarting && !t.Alive(r.SupervisorPID, r.SupervisorTicks)
}

// Settle finishes a start whose bgrun was killed (its record was written as
// starting, with its marker, before the spawn): when a process carrying the
// marker runs, the record is completed with its leader and marked running;
// when none does, it is marked failed. Either way the history says so. The
// caller holds r's lock and passes a fresh r; a record that is not an
// interrupted start is returned unchanged.
func Settle(db *store.DB, r store.Record, t Table) (store.Record, error) {
	if !Interrupted(r, t) {
		return r, nil
	}
	leader, found := t.LeaderOf(r)
	running := found || len(t.MembersOf(OwnerOf(r), true)) > 0
	event, detail := store.EventFailed, map[string]any{"reason": "start interrupted; no process carries its marker"}
	nr, err := db.Update(r.Name, func(rec *store.Record) error {
		if rec.Status != store.StatusStarting || rec.Instance != r.Instance {
			return nil // changed meanwhile: someone else settled it
		}
		if found {
			rec.PID, rec.PGID, rec.StartTicks = leader.PID, leader.PGID, leader.StartTicks
		}
		if running {
			rec.Status = store.StatusRunning
			event, detail = store.EventStart, map[string]any{"command": rec.Command,
				"reason": "start interrupted; finished by finding its process by marker"}
		} else {
			rec.Status = store.StatusFailed
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if nr.Status == store.StatusStarting {
		return nr, nil
	}
	return nr, db.AddEvent(store.Event{Name: r.Name, Event: event, PID: nr.PID, Detail: detail})
}

// LeaderOf returns the leader of r's last start: the process it recorded,
// while that still runs, else the one that leads what carries its marker.
func (t Table) LeaderOf(r store.Record) (Proc, bool) {
	if t.Alive(r.PID, r.StartTicks) {
		return t.procs[r.PID], true
	}
	if r.Instance != "" {
		return t.Leader(r.Instance)
	}
	return Proc{}, false
}

// settleAll settles the interrupted starts among recs whose lock is free (a
// held lock means the start is still going on), and returns recs as they
// are now. It costs nothing when no record is starting; when it settles one
// it reads *t again, after taking the lock, and leaves the new one there.
func settleAll(db *store.DB, recs []store.Record, t *Table) ([]store.Record, error) {
	fresh := false
	for i, r := range recs {
		if r.Status != store.StatusStarting {
			continue
		}
		unlock, ok, err := db.TryLock(r.Name)
		if err != nil || !ok {
			continue
		}
		if !fresh {
			snap, err := Snapshot()
			if err != nil {
				unlock()
				return recs, err
			}
			*t, fresh = snap, true
		}
		if cur, err := db.Get(r.Name); err == nil {
			if cur, err = Settle(db, cur, *t); err == nil {
				recs[i] = cur
			}
		}
		unlock()
	}
	return recs, nil
}
