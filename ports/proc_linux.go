package ports

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// procSocket is one LISTEN line of /proc/net/tcp or /proc/net/tcp6.
type procSocket struct {
	addr  string
	port  int
	inode uint64
}

// listProc lists listeners the way ss does, without ss: the LISTEN sockets of this process's
// network namespace (see listenSockets), and their owners found by
// matching socket inodes against the links in every /proc/PID/fd. A socket whose owner cannot
// be read (another user's process without root, or PID 1 here) gives PID 0. Unlike ss it cannot
// tell a dual-stack socket from an IPv6-only one: both read "::".
func listProc(ctx context.Context) ([]Listener, error) {
	return listProcOf(ctx, nil)
}

// ListOf returns the TCP sockets in LISTEN state held by any of pids,
// found without running ss: the listening sockets (listenSockets), and the
// fd links of those processes only. It is what a stop needs of a small
// tree, at a fraction of a full listing's cost.
func ListOf(ctx context.Context, pids []int) ([]Listener, error) {
	if len(pids) == 0 {
		return nil, nil
	}
	ls, err := listProcOf(ctx, pids)
	if err != nil {
		return nil, err
	}
	in := make(map[int]bool, len(pids))
	for _, p := range pids {
		in[p] = true
	}
	return slices.DeleteFunc(ls, func(l Listener) bool { return !in[l.PID] }), nil
}

// ListenInodes returns the inodes of the TCP sockets in LISTEN state, from
// the kernel's list of them alone: a cheap look for a new listener before
// the costly search of its owner. ok is false where it cannot be read.
func ListenInodes() (inodes map[uint64]bool, ok bool) {
	socks, err := listenSockets()
	if err != nil {
		return nil, false
	}
	inodes = make(map[uint64]bool, len(socks))
	for _, s := range socks {
		inodes[s.inode] = true
	}
	return inodes, true
}

// listProcOf is listProc with the owners looked for among pids only (nil:
// every process).
func listProcOf(ctx context.Context, pids []int) ([]Listener, error) {
	socks, err := listenSockets()
	if err != nil {
		return nil, err
	}
	owners, err := socketOwners(ctx, socks, pids)
	if err != nil {
		return nil, err
	}
	var ls []Listener
	for _, s := range socks {
		pids := owners[s.inode]
		if len(pids) == 0 {
			ls = append(ls, Listener{Addr: s.addr, Port: s.port})
			continue
		}
		slices.Sort(pids)
		for _, pid := range slices.Compact(pids) {
			ls = append(ls, Listener{Addr: s.addr, Port: s.port, PID: pid})
		}
	}
	return ls, nil
}

// socketOwners maps the inode of each socket in socks to the pids that hold it open, looking
// among the given pids (every process when nil). Processes that vanish or cannot be read during
// the walk are skipped, as ss skips them. The walk reads one link per open file of every
// process, so it is shared among the CPUs when there are many processes.
func socketOwners(ctx context.Context, socks []procSocket, among []int) (map[uint64][]int, error) {
	want := make(map[uint64]bool, len(socks))
	for _, s := range socks {
		want[s.inode] = true
	}
	owners := make(map[uint64][]int)
	if len(want) == 0 {
		return owners, nil
	}
	pids := among
	if among == nil {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return nil, fmt.Errorf("list processes: %w", err)
		}
		for _, e := range entries {
			if pid, ok := parsePID(e.Name()); ok && pid > 0 {
				pids = append(pids, pid)
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), 1+len(pids)/32)
	found := make([]map[uint64][]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			found[w] = socketsOf(ctx, pids[w*len(pids)/workers:(w+1)*len(pids)/workers], want)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list socket owners: %w", err)
	}
	for _, f := range found {
		for inode, ps := range f {
			owners[inode] = append(owners[inode], ps...)
		}
	}
	return owners, nil
}

// socketsOf maps the sockets in want that pids hold open to those pids.
func socketsOf(ctx context.Context, pids []int, want map[uint64]bool) map[uint64][]int {
	owners := make(map[uint64][]int)
	var link [64]byte
	for _, pid := range pids {
		if ctx.Err() != nil {
			return owners
		}
		dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		fds, _ := f.Readdirnames(-1)
		f.Close()
		for _, fd := range fds {
			n, err := syscall.Readlink(dir+fd, link[:])
			if err != nil {
				continue
			}
			num, ok := bytes.CutPrefix(link[:n], []byte("socket:["))
			if !ok {
				continue
			}
			inode, err := strconv.ParseUint(string(bytes.TrimSuffix(num, []byte("]"))), 10, 64)
			if err == nil && want[inode] {
				owners[inode] = append(owners[inode], pid)
			}
		}
	}
	return owners
}

// parseProcNet returns the LISTEN sockets (st 0A) of a /proc/net/tcp or tcp6 file. Lines that
// do not have the expected shape are skipped, so a future column does not break the listing.
func parseProcNet(data []byte) []procSocket {
	var socks []procSocket
	for line := range bytes.Lines(data) {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		f := strings.Fields(string(line))
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		h, p, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		addr, ok := decodeProcAddr(h)
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(p, 16, 16)
		if err != nil || port == 0 {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			continue
		}
		socks = append(socks, procSocket{addr: addr, port: int(port), inode: inode})
	}
	return socks
}

// decodeProcAddr decodes the hex address of /proc/net/tcp{,6}: 8 or 32 hex digits that are one
// or four 32-bit words, which the kernel prints as numbers although they hold the address bytes
// in memory order. Storing each number back in native byte order gives the address bytes on a
// little- or big-endian machine alike. v4-mapped addresses print as "::ffff:127.0.0.1", as ss
// prints them.
func decodeProcAddr(h string) (string, bool) {
	if len(h) != 8 && len(h) != 32 {
		return "", false
	}
	b := make([]byte, 0, 16)
	for i := 0; i < len(h); i += 8 {
		w, err := strconv.ParseUint(h[i:i+8], 16, 32)
		if err != nil {
			return "", false
		}
		b = binary.NativeEndian.AppendUint32(b, uint32(w))
	}
	if len(b) == 4 {
		return netip.AddrFrom4([4]byte(b)).String(), true
	}
	return netip.AddrFrom16([16]byte(b)).String(), true
}
