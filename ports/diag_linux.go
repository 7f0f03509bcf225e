package ports

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"syscall"
)

// listenSockets returns the TCP sockets in LISTEN state of this network
// namespace. It asks the kernel over NETLINK_SOCK_DIAG, as ss does, which
// visits only the listening sockets; /proc/net/tcp, the fallback, walks every
// bucket of the connection table and costs milliseconds on a large machine.
func listenSockets() ([]procSocket, error) {
	if socks, err := diagListen(); err == nil {
		return socks, nil
	}
	return procListen()
}

// procListen reads the LISTEN sockets from /proc/net/tcp and tcp6.
func procListen() ([]procSocket, error) {
	var socks []procSocket
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) && name == "/proc/net/tcp6" {
			// tcp6 is absent when the kernel has IPv6 disabled.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read sockets: %w", err)
		}
		socks = append(socks, parseProcNet(data)...)
	}
	return socks, nil
}

// Netlink sock_diag, from linux/sock_diag.h and linux/inet_diag.h.
const (
	sockDiagByFamily = 20
	tcpListen        = 10
	nlmsgHdrLen      = 16
	diagReqLen       = 56 // struct inet_diag_req_v2
	diagMsgLen       = 72 // struct inet_diag_msg
)

// diagListen dumps the LISTEN sockets of TCP over IPv4 and IPv6.
func diagListen() ([]procSocket, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.NETLINK_INET_DIAG)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	// No answer within a second means something is wrong: fall back.
	tv := syscall.Timeval{Sec: 1}
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	var socks []procSocket
	buf := make([]byte, 32<<10)
	for seq, family := range []byte{syscall.AF_INET, syscall.AF_INET6} {
		req := make([]byte, nlmsgHdrLen+diagReqLen)
		ne := binary.NativeEndian
		ne.PutUint32(req[0:], uint32(len(req)))
		ne.PutUint16(req[4:], sockDiagByFamily)
		ne.PutUint16(req[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
		ne.PutUint32(req[8:], uint32(seq+1))
		req[16], req[17] = family, syscall.IPPROTO_TCP
		ne.PutUint32(req[20:], 1<<tcpListen)
		if err := syscall.Sendto(fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
			return nil, err
		}
		got, err := diagRead(fd, buf, uint32(seq+1))
		if err != nil {
			return nil, err
		}
		socks = append(socks, got...)
	}
	return socks, nil
}

// diagRead reads the answers to the dump numbered seq until its end.
func diagRead(fd int, buf []byte, seq uint32) ([]procSocket, error) {
	var socks []procSocket
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			switch m.Header.Type {
			case syscall.NLMSG_DONE:
				return socks, nil
			case syscall.NLMSG_ERROR:
				return nil, errors.New("sock_diag: the kernel refused the dump")
			case sockDiagByFamily:
				if s, ok := parseDiagMsg(m.Data); ok {
					socks = append(socks, s)
				}
			}
		}
	}
}

// parseDiagMsg reads one struct inet_diag_msg: family, state, the socket's
// id (ports big-endian, addresses in network order) and its inode.
func parseDiagMsg(b []byte) (procSocket, bool) {
	if len(b) < diagMsgLen || b[1] != tcpListen {
		return procSocket{}, false
	}
	port := int(binary.BigEndian.Uint16(b[4:]))
	var addr netip.Addr
	switch b[0] {
	case syscall.AF_INET:
		addr = netip.AddrFrom4([4]byte(b[8:12]))
	case syscall.AF_INET6:
		addr = netip.AddrFrom16([16]byte(b[8:24]))
	default:
		return procSocket{}, false
	}
	inode := uint64(binary.NativeEndian.Uint32(b[68:]))
	if port == 0 {
		return procSocket{}, false
	}
	return procSocket{addr: addr.String(), port: port, inode: inode}, true
}
