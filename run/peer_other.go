//go:build !linux

package run

import (
	"net"

	"bgrun/store"
)

// CheckPeer does nothing where the kernel gives no peer credentials this
// way: the socket lies in the store's folder, which only its user can
// enter (0700).
func CheckPeer(c net.Conn) error { return nil }

// abstractSocket is the socket file itself where there is no abstract
// namespace: a path too long to bind fails with the system's message.
func abstractSocket(dbPath string) string { return store.SupervisorSocket(dbPath) }
