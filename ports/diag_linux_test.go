package ports

import (
	"net"
	"slices"
	"testing"
)

// TestDiagMatchesProc checks the netlink dump against /proc/net/tcp{,6} on
// this machine for listeners of each family opened here (other tests open
// and close theirs meanwhile): the same sockets, with the same addresses,
// ports and inodes.
func TestDiagMatchesProc(t *testing.T) {
	mine := map[int]bool{}
	for _, addr := range []string{"127.0.0.1:0", "0.0.0.0:0", "[::1]:0", "[::]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // no IPv6 here
		}
		defer ln.Close()
		mine[ln.Addr().(*net.TCPAddr).Port] = true
	}
	diag, err := diagListen()
	if err != nil {
		t.Skipf("netlink sock_diag refused here (%v): ports are read from /proc/net/tcp", err)
	}
	proc, err := procListen()
	if err != nil {
		t.Fatal(err)
	}
	ours := func(socks []procSocket) []procSocket {
		socks = slices.DeleteFunc(socks, func(s procSocket) bool { return !mine[s.port] })
		slices.SortFunc(socks, func(a, b procSocket) int { return a.port - b.port })
		return socks
	}
	diag, proc = ours(diag), ours(proc)
	if len(diag) != len(mine) || !slices.Equal(diag, proc) {
		t.Errorf("sock_diag and /proc disagree on the %d listeners opened here:\n diag %v\n proc %v", len(mine), diag, proc)
	}
}

// BenchmarkListenSockets compares the two ways to read the listening sockets.
func BenchmarkListenSockets(b *testing.B) {
	b.Run("sock_diag", func(b *testing.B) {
		for b.Loop() {
			if _, err := diagListen(); err != nil {
				b.Skip(err)
			}
		}
	})
	b.Run("proc_net_tcp", func(b *testing.B) {
		for b.Loop() {
			procListen()
		}
	})
}
