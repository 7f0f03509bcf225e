package watch

import (
	"bgrun/run"
	"bgrun/store"
)

// GuardResult says what SetGuard did.
type GuardResult struct {
	Changed  bool // the guard flag changed
	Attached bool // a supervisor was started to guard it
}

// SetGuard turns the crash guard of the record named name on or off (see
// store.DB.SetGuard): a guard turned on tries again at once a record that
// failed, ended or gave up, and a supervisor is started when none runs.
// Turning it off leaves the process running.
func SetGuard(db *store.DB, name string, on bool) (res GuardResult, err error) {
	unlock, err := db.Lock(name)
	if err != nil {
		return res, err
	}
	defer unlock()
	if _, res.Changed, err = db.SetGuard(name, on); err != nil || !on {
		return res, err
	}
	res.Attached = !run.SupervisorRuns(db.Path())
	return res, run.EnsureSupervisor(db.Path())
}
