package ports

import (
	"bytes"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// PeerUID returns the user that owns the other end of a TCP connection made
// on this machine: local is this end's address, peer the other's. It looks
// for the peer's socket in /proc/net/tcp and tcp6 (its local address is
// peer, its remote one local) and reads that socket's uid, which is its
// creator's and cannot be forged by another user. ok is false when the peer
// is not a socket of this machine's network namespace.
func PeerUID(local, peer netip.AddrPort) (uid int, ok bool) {
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		if uid, ok := findPeer(data, local, peer); ok {
			return uid, true
		}
	}
	return 0, false
}

// findPeer scans one /proc/net/tcp{,6} text for the socket whose local
// address is peer and whose remote address is local, and returns its uid.
func findPeer(data []byte, local, peer netip.AddrPort) (int, bool) {
	for line := range bytes.Lines(data) {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		f := strings.Fields(string(line))
		if len(f) < 10 {
			continue
		}
		l, ok1 := decodeProcAddrPort(f[1])
		r, ok2 := decodeProcAddrPort(f[2])
		if !ok1 || !ok2 || l != peer || r != local {
			continue
		}
		uid, err := strconv.Atoi(f[7])
		if err != nil {
			return 0, false
		}
		return uid, true
	}
	return 0, false
}

// decodeProcAddrPort decodes "HEXADDR:HEXPORT", unmapping v4-mapped v6
// addresses so that both ends compare alike.
func decodeProcAddrPort(s string) (netip.AddrPort, bool) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	a, ok := decodeProcAddr(h)
	if !ok {
		return netip.AddrPort{}, false
	}
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}
