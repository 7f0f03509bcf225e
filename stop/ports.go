package stop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"bgrun/docker"
	"bgrun/ports"
	"bgrun/ps"
	"bgrun/store"
)

// portWait is how long a stop waits for a freed port, as the README says.
const portWait = 5 * time.Second

// tree is a record's process tree as seen at one moment: every member with
// its start time, and the ports they listen on.
type tree struct {
	members map[int]uint64
	ports   []int
}

// snapshotTree takes r's tree and its ports (one OS listing).
func snapshotTree(ctx context.Context, r store.Record, t ps.Table) tree {
	tr := tree{members: map[int]uint64{}}
	pids := t.MembersOf(ps.OwnerOf(r), true)
	for _, p := range pids {
		mp, _ := t.Get(p)
		tr.members[p] = mp.StartTicks
	}
	if len(pids) > 0 {
		if ls, err := ps.ListenersOf(ctx, pids); err == nil {
			tr.ports = ps.PortsOf(ls, pids)
		}
	}
	return tr
}

// stopTree ends r's tree, then frees the ports the tree listened on: a
// member that left the tree (a daemon that forked away) but still holds one
// of them is killed, and the port is waited for. Only LISTEN holders that
// were members of the tree are ever signalled: never a client of the port,
// never a process that is not ours. A port held by someone else is reported
// on out and left alone. snap, when not nil, is a snapshot just taken.
func stopTree(ctx context.Context, r store.Record, timeout time.Duration, say func(string, ...any),
	snap *ps.Table, snaps *ps.Shared) (TreeResult, []int, error) {
	if docker.IsDocker(r.Command) {
		// The container is not in the client's tree: docker stop ends it,
		// and a foreground client then exits by itself.
		ctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
		err := docker.Stop(ctx, ps.DockerRecord(r), timeout)
		cancel()
		if err != nil {
			say("Warning: docker stop for %s: %v", r.Name, err)
		}
	}
	if snap == nil || docker.IsDocker(r.Command) {
		t, err := snaps.After(time.Now())
		if err != nil {
			return TreeResult{}, nil, err
		}
		snap = &t
	}
	t := *snap
	tr := snapshotTree(ctx, r, t)
	res, err := treeOf(ctx, ps.OwnerOf(r), timeout, &t, snaps)
	if err != nil {
		return res, tr.ports, err
	}
	if len(tr.ports) == 0 {
		return res, tr.ports, nil
	}
	former := make([]int, 0, len(tr.members))
	for pid := range tr.members {
		former = append(former, pid)
	}
	ls, err := ps.ListenersOf(ctx, former)
	if err != nil {
		return res, tr.ports, nil
	}
	for _, port := range tr.ports {
		for _, h := range ports.Holders(ls, port) {
			if ticks, ours := tr.members[h]; ours {
				signal(h, ticks, sigKill)
				res.Killed = append(res.Killed, h)
			}
		}
	}
	for _, port := range tr.ports {
		ctx, cancel := context.WithTimeout(ctx, portWait)
		err := ports.WaitFree(ctx, port, portWait)
		cancel()
		var be *ports.BusyError
		if errors.As(err, &be) {
			say("Port %d is still in use by %s; starting anyway.", port, describePIDs(be.PIDs))
		}
	}
	return res, tr.ports, nil
}

func describePIDs(pids []int) string {
	if len(pids) == 0 {
		return "a process bgrun cannot see"
	}
	s := ""
	for i, p := range pids {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("pid %d", p)
		if c := ps.Cmdline(p); c != "" {
			s += fmt.Sprintf(" (%s)", truncate(c, 60))
		}
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Replace stops the running tree of r so that it can be started afresh
// (`--force`, `--restart`), freeing its ports as stopTree does.
func Replace(ctx context.Context, r store.Record, opt Options) (TreeResult, error) {
	res, _, err := stopTree(ctx, r, opt.timeout(), opt.say, nil, opt.Snapshots)
	if err != nil {
		return res, err
	}
	return res, RemoveContainer(ctx, r, opt)
}

// RemoveContainer removes the stopped container that the docker record r
// created (found by its --name or its bgrun.name label, and nothing else),
// so that starting `docker run --name x` again meets no name conflict.
func RemoveContainer(ctx context.Context, r store.Record, opt Options) error {
	if !docker.IsDocker(r.Command) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	err := docker.Remove(ctx, ps.DockerRecord(r))
	if errors.Is(err, docker.ErrUnavailable) {
		opt.say("Warning: %s: %v", r.Name, err)
		return nil
	}
	return err
}

// PortHolder describes a process that listens on a port.
type PortHolder struct {
	PID     int
	Command string
}

// HoldersOf returns who listens on port, for messages such as "PORT 3000 is
// already in use by pid 123 (node server.js)".
func HoldersOf(ctx context.Context, port int) (busy bool, holders []PortHolder, err error) {
	ls, err := ps.Listeners(ctx)
	if err != nil {
		return false, nil, err
	}
	for _, p := range ports.Holders(ls, port) {
		holders = append(holders, PortHolder{PID: p, Command: ps.Cmdline(p)})
	}
	return ports.Busy(ls, port), holders, nil
}

// killPort ends whatever listens on port (`bgrun --kill-port`): SIGTERM, then
// SIGKILL after the timeout, and waits for the port to be free. Only the
// listeners are signalled, never clients connected to the port; pid 1 and
// bgrun itself are refused. It returns the pids it ended.
func killPort(ctx context.Context, port int, opt Options) ([]PortHolder, error) {
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("port %d is not a TCP port number (1-65535)", port)
	}
	ls, err := ps.Listeners(ctx)
	if err != nil {
		return nil, err
	}
	if !ports.Busy(ls, port) {
		return nil, nil
	}
	pids := ports.Holders(ls, port)
	if len(pids) == 0 {
		return nil, fmt.Errorf("port %d is in use by a process bgrun cannot see (another user's?)", port)
	}
	t, err := ps.Snapshot()
	if err != nil {
		return nil, err
	}
	var ended []PortHolder
	for _, p := range pids {
		switch p {
		case 1:
			return nil, fmt.Errorf("port %d is held by pid 1 (init); refusing to kill it", port)
		case os.Getpid(), os.Getppid():
			return nil, fmt.Errorf("port %d is held by bgrun itself (pid %d); refusing to kill it", port, p)
		}
	}
	for _, p := range pids {
		proc, ok := t.Get(p)
		if !ok {
			continue
		}
		ended = append(ended, PortHolder{PID: p, Command: ps.Cmdline(p)})
		// Only this process, not its tree: a listener's parent may be a
		// shell or supervisor the user did not ask to end.
		if err := signal(p, proc.StartTicks, sigTerm); err != nil {
			return ended, fmt.Errorf("signal pid %d: %w", p, err)
		}
	}
	deadline := time.Now().Add(opt.timeout())
	for {
		ls, err := ps.Listeners(ctx)
		if err != nil {
			return ended, err
		}
		left := ports.Holders(ls, port)
		if !ports.Busy(ls, port) {
			return ended, nil
		}
		if time.Now().After(deadline) {
			for _, p := range left {
				if proc, ok := t.Get(p); ok && p != 1 {
					signal(p, proc.StartTicks, sigKill)
				}
			}
			ctx, cancel := context.WithTimeout(ctx, portWait)
			defer cancel()
			if err := ports.WaitFree(ctx, port, portWait); err != nil {
				return ended, err
			}
			return ended, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}
