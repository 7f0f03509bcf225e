//go:build unix

package stop

import "syscall"

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
	// sigCont follows every SIGTERM, as systemd sends it: a program stopped
	// with SIGSTOP (or Ctrl-Z) runs its handler instead of waiting for the
	// SIGKILL.
	sigCont = syscall.SIGCONT
)
