package run

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"syscall"
)

// CheckPeer checks that the other end of c, a Unix socket, runs as this
// user: the supervisor answers only its own user's commands, and a command
// talks only to its own user's supervisor (an abstract socket can be bound
// by anyone).
func CheckPeer(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("peer credentials: %w", cerr)
	}
	if int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("the other end of the supervisor's socket runs as uid %d, not %d", cred.Uid, os.Geteuid())
	}
	return nil
}

// abstractSocket names the supervisor's socket of the store at dbPath in
// the abstract namespace, where no path length limits it.
func abstractSocket(dbPath string) string {
	sum := sha256.Sum256([]byte(dbPath))
	return "@bgrun-supervisor-" + hex.EncodeToString(sum[:16])
}
