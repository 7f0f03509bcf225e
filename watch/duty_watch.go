package watch

import (
	"context"
	"fmt"
	"strings"

	"bgrun/store"
)

// watchDuty restarts a watched record when a file of its directory changes:
// a poller per record, whose changes come back to the loop as events.
type watchDuty struct{}

func (watchDuty) wants(r store.Record) bool { return r.Watch }

func (watchDuty) attach(s *supervisor, t *tracked, r store.Record) {
	ig, err := newIgnore(r.Dir, r.WatchIgnore, []string{r.StdoutPath, r.StderrPath, store.SupervisorLogPath(s.db.Path()),
		s.db.Path(), s.db.Path() + "-wal", s.db.Path() + "-shm", s.db.Path() + "-journal"})
	if err != nil {
		s.log.Printf("%s: cannot watch: %v", r.Name, err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.watched = cancel
	p := &poller{Root: r.Dir, Ignore: ig}
	// Ready once the first snapshot is taken: a start says it is done only
	// then, so that a change its caller makes right after is seen.
	ready := make(chan struct{})
	t.watchReady = ready
	p.afterScan = func(n int) {
		if n == 0 {
			close(ready)
		}
	}
	name := r.Name
	go func() {
		err := p.Run(ctx, func(changed []string) {
			what := strings.Join(changed[:min(3, len(changed))], ", ")
			if len(changed) > 3 {
				what += fmt.Sprintf(" and %d more", len(changed)-3)
			}
			select {
			case s.events <- event{kind: evChange, name: name, t: t, change: what}:
			case <-ctx.Done():
			}
		})
		if err != nil && ctx.Err() == nil {
			s.log.Printf("%s: watcher stopped: %v", name, err)
		}
		select {
		case <-ready:
		default:
			close(ready) // it never scanned: nobody waits for it
		}
	}()
}

func (watchDuty) detach(t *tracked) {
	if t.watched != nil {
		t.watched()
		t.watched = nil
	}
}
