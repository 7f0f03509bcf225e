//go:build unix

package run

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// shellCommand runs command through sh, as the original does, so pipes,
// redirections and && work. A simple command is run with exec, so the pid
// bgrun records is the program's (dash never execs on its own); the second
// result says which leads it: store.LeaderProgram or store.LeaderShell.
func shellCommand(command string) (*exec.Cmd, string) {
	line, leader := execCommand(command)
	return exec.Command("/bin/sh", "-c", line), leader
}

// detach puts the process in a new session: no controlling terminal, its own
// process group, and out of reach of the terminal's hangup.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

// exitStatus returns a finished process's exit code, or -1 and the signal
// name when a signal ended it.
func exitStatus(st *os.ProcessState) (int, string) {
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

// Detach prepares cmd, one of bgrun's own helpers (a supervisor), to be
// started detached: in a new session (no controlling terminal, its own
// process group, out of reach of the terminal's hangup), and marked as a
// helper, so that it is never counted in the tree of whoever spawned it
// (the dashboard, or a CLI run inside a managed process), nor is anything it
// starts.
func Detach(cmd *exec.Cmd) {
	detach(cmd)
	cmd.Env = helperEnv(cmd.Env)
}

// closeInherited marks every descriptor above stderr close-on-exec: a
// descriptor the caller's shell left open (a lock held with flock 9, the
// write end of a pipe) must not pass into the supervisor, which outlives
// the command and would keep the lock held and the pipe open, and from it
// into every process it starts. Go opens its own descriptors close-on-exec
// already.
func closeInherited() {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				syscall.CloseOnExec(fd)
			}
		}
		return
	}
}
