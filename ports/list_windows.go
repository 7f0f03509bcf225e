package ports

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// List returns every TCP socket in LISTEN state on the machine, from one run of `netstat -ano`.
// Plain -ano lists TCP over IPv4 and IPv6 in one call (`-p TCP` would need a second call for
// TCPv6); parseNetstat drops the UDP lines.
func List(ctx context.Context) ([]Listener, error) {
	var dirs []string
	if root := os.Getenv("SystemRoot"); root != "" {
		dirs = append(dirs, filepath.Join(root, "System32"))
	}
	out, err := command(ctx, toolPath("netstat", dirs...), "-ano")
	if err != nil {
		return nil, fmt.Errorf("list listening ports: %w", err)
	}
	return parseNetstat(out), nil
}

// createNoWindow is CREATE_NO_WINDOW from the Win32 API.
const createNoWindow = 0x08000000

// prepare keeps netstat from opening a console window: a detached caller such as the
// dashboard has no console, and Windows would otherwise flash one at every poll.
func prepare(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
}
