package ports

import (
	"net"
	"net/netip"
	"os"
	"testing"
)

// TestPeerUID connects to a listener of this process over IPv4 and IPv6
// loopback and finds this process's user as the owner of the client end.
func TestPeerUID(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("%s: %v", addr, err) // no IPv6 here
			continue
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		local := netip.MustParseAddrPort(s.LocalAddr().String())
		peer := netip.MustParseAddrPort(s.RemoteAddr().String())
		if uid, ok := PeerUID(local, peer); !ok || uid != os.Geteuid() {
			t.Errorf("%s: PeerUID = %d, %v; want %d", addr, uid, ok, os.Geteuid())
		}
		// The other way round finds the server's end, ours too.
		if _, ok := PeerUID(peer, local); !ok {
			t.Errorf("%s: the client's view of the server not found", addr)
		}
		if _, ok := PeerUID(local, netip.AddrPortFrom(peer.Addr(), 1)); ok {
			t.Errorf("%s: a peer that does not exist was found", addr)
		}
	}
}
