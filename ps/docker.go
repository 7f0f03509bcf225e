package ps

import (
	"context"
	"errors"
	"time"

	"bgrun/docker"
	"bgrun/store"
)

// dockerTimeout bounds the docker calls of one listing, so a hung daemon
// slows the list by at most this much.
const dockerTimeout = 5 * time.Second

// DockerRecord returns the docker view of a record.
func DockerRecord(r store.Record) docker.Record {
	return docker.Record{Name: r.Name, Command: r.Command, Dir: r.Dir}
}

// addDocker replaces the process view of docker records with their
// containers' state: one batch of docker calls for the whole listing. The
// docker client is in the tree of such a record, but the container is not:
// its status, exit code and published ports come from Docker.
func addDocker(ctx context.Context, procs []Process, recs []store.Record) {
	var drecs []docker.Record
	for i, r := range recs {
		if docker.IsDocker(r.Command) {
			procs[i].Docker = true
			drecs = append(drecs, DockerRecord(r))
		}
	}
	if len(drecs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, dockerTimeout)
	defer cancel()
	states, err := docker.Status(ctx, drecs)
	for i := range procs {
		p := &procs[i]
		if !p.Docker {
			continue
		}
		if err != nil {
			p.Status, p.Running = statusUnknown, false
			p.StatusDetail = "docker daemon not reachable"
			if !errors.Is(err, docker.ErrUnavailable) {
				p.StatusDetail = err.Error()
			}
			continue
		}
		c, ok := states[p.Name]
		switch {
		case ok && c.Running:
			p.Status, p.Running = store.StatusRunning, true
			p.Ports = c.Ports
			if !c.StartedAt.IsZero() {
				p.StartedAt = c.StartedAt
				p.Uptime = int64(time.Since(c.StartedAt).Seconds())
			}
			p.StatusDetail = "container " + c.Name
		case ok && c.Exists:
			// The client may linger a moment after its container ended.
			p.Status, p.Running = endedStatus(recs[i]), false
			p.StatusDetail = "container " + c.Name + " " + c.Status
			if !c.FinishedAt.IsZero() {
				p.LastExit = &Exit{Code: c.ExitCode, At: c.FinishedAt}
			}
		case p.Running:
			// No container yet while the client runs: it is still being
			// created (or pulled), which counts as running.
			p.StatusDetail = "container not created yet"
		default:
			p.Status = endedStatus(recs[i])
		}
		if !p.Running {
			p.PID, p.Memory, p.CPU, p.Uptime = 0, 0, 0, 0
		}
	}
}

// endedStatus is the status of a docker record whose container does not
// run: as recorded, or exited when the record still says it runs (its
// container ended on its own).
func endedStatus(r store.Record) store.Status {
	switch r.Status {
	case store.StatusRunning:
		return store.StatusExited
	}
	return r.Status
}
