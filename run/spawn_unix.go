//go:build unix

package run

import (
	"os"
	"os/exec"
	"syscall"
)

// shellCommand runs command through sh, as the original does, so pipes,
// redirections and && work.
func shellCommand(command string) *exec.Cmd {
	return exec.Command("/bin/sh", "-c", command)
}

// detach puts the process in a new session: no controlling terminal, its own
// process group, and out of reach of the terminal's hangup.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

// ExitStatus returns a finished process's exit code, or -1 and the signal
// name when a signal ended it.
func ExitStatus(st *os.ProcessState) (int, string) {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, signalName(ws.Signal())
	}
	return st.ExitCode(), ""
}

func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGKILL: "SIGKILL",
		syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP", syscall.SIGSEGV: "SIGSEGV",
		syscall.SIGABRT: "SIGABRT", syscall.SIGQUIT: "SIGQUIT", syscall.SIGPIPE: "SIGPIPE",
		syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGBUS: "SIGBUS"}
	if n, ok := names[s]; ok {
		return n
	}
	return s.String()
}

// forwardSignals are passed on to an inline child.
var forwardSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// signalNumber returns the number of the signal that ended a process, for
// the shell convention of exit status 128+N.
func signalNumber(st *os.ProcessState) int {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return int(ws.Signal())
	}
	return 0
}

// Detach puts cmd in a new session: no controlling terminal, its own process
// group, and out of reach of the terminal's hangup. The supervisor uses it.
func Detach(cmd *exec.Cmd) { detach(cmd) }
