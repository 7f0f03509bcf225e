package ps

import (
	"context"
	"time"

	"bgrun/ports"
)

// portQueryTimeout bounds one OS listing, so a hung tool never hangs bgrun.
const portQueryTimeout = 5 * time.Second

// Listeners returns every listening socket on the machine, from one OS query.
func Listeners(ctx context.Context) ([]ports.Listener, error) {
	ctx, cancel := context.WithTimeout(ctx, portQueryTimeout)
	defer cancel()
	return ports.List(ctx)
}

// ListenersOf returns the listening sockets held by any of pids: for a
// stop, which needs a small tree's sockets and not the machine's.
func ListenersOf(ctx context.Context, pids []int) ([]ports.Listener, error) {
	ctx, cancel := context.WithTimeout(ctx, portQueryTimeout)
	defer cancel()
	return ports.ListOf(ctx, pids)
}

// PortsOf returns the ports that any of pids listens on.
func PortsOf(ls []ports.Listener, pids []int) []int {
	set := make(map[int]bool, len(pids))
	for _, p := range pids {
		set[p] = true
	}
	if ps := ports.PortsOf(ls, set); ps != nil {
		return ps
	}
	return []int{}
}

// addPorts fills in the listening ports of the running processes with one
// look at the sockets for all of them: the listening sockets, and the fds of
// their members only (no run of ss, which reads every process's fds). A
// failed look leaves ports empty: the list is still worth showing.
func addPorts(ctx context.Context, procs []Process) {
	var pids []int
	for _, p := range procs {
		pids = append(pids, p.PIDs...)
	}
	if len(pids) == 0 {
		return
	}
	ls, err := ListenersOf(ctx, pids)
	if err != nil {
		return
	}
	for i := range procs {
		procs[i].Ports = PortsOf(ls, procs[i].PIDs)
	}
}

// PortEntry is one listening socket of a managed process, as `bgrun ports
// --json` prints it.
type PortEntry struct {
	Name    string `json:"name"`
	Port    int    `json:"port"`
	PID     int    `json:"pid"`
	Address string `json:"address"`
}

// portTable lists which managed process listens where: all of them, or only
// the one named name.
func portTable(ctx context.Context, procs []Process, name string) ([]PortEntry, error) {
	out := []PortEntry{}
	ls, err := Listeners(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range procs {
		if name != "" && p.Name != name {
			continue
		}
		mine := map[int]bool{}
		for _, pid := range p.PIDs {
			mine[pid] = true
		}
		for _, l := range ls {
			if l.PID > 0 && mine[l.PID] {
				out = append(out, PortEntry{Name: p.Name, Port: l.Port, PID: l.PID, Address: l.Addr})
			}
		}
	}
	return out, nil
}
