package stop

import "syscall"

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
	sigCont = syscall.Signal(0x12) // no such thing on Windows: signal ignores it
)
