package run

import (
	"os"
	"os/exec"
	"syscall"
)

// shellCommand runs command through cmd.exe, which leads it.
func shellCommand(command string) (*exec.Cmd, string) {
	shell := os.Getenv("ComSpec")
	if shell == "" {
		shell = "cmd.exe"
	}
	cmd := exec.Command(shell)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: shell + " /c " + command}
	return cmd, "shell"
}

// detach starts the process without a console and in its own group, so it
// outlives the terminal bgrun ran in.
func detach(cmd *exec.Cmd) {
	const detachedProcess = 0x00000008
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess
}

// exitStatus returns a finished process's exit code.
func exitStatus(st *os.ProcessState) (int, string) {
	return st.ExitCode(), ""
}

// forwardSignals are passed on to an inline child.
var forwardSignals = []os.Signal{os.Interrupt}

// signalNumber is 0 on Windows, where no signal ends a process.
func signalNumber(*os.ProcessState) int { return 0 }

// Detach starts cmd, one of bgrun's helpers, without a console and in its
// own process group, marked as a helper.
func Detach(cmd *exec.Cmd) {
	detach(cmd)
	cmd.Env = helperEnv(cmd.Env)
}

// closeInherited does nothing on Windows, where a child inherits only the
// handles it is given.
func closeInherited() {}
