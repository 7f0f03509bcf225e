package ports

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// helperEnv switches the test binary into a helper process instead of running tests.
const helperEnv = "BGRUN_PORTS_TEST_HELPER"

// TestMain lets the test binary double as a listening helper process, so that the live tests
// see a pid other than their own without depending on python or any other tool.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "listen" {
		os.Exit(listenHelper())
	}
	os.Exit(m.Run())
}

// listenHelper holds a loopback port (see listenLoopback), prints it, and keeps it until its
// stdin closes, so that it also ends when the test process dies.
func listenHelper() int {
	lns, port, err := listenLoopback()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(port)
	io.Copy(io.Discard, os.Stdin)
	for _, ln := range lns {
		ln.Close()
	}
	return 0
}

// listenLoopback listens on one kernel-chosen port on both 127.0.0.1 and ::1 (only the former
// where IPv6 is off). A port taken on one loopback alone may already be held on the other by an
// unrelated program: the kernel hands out 127.0.0.1:P while another process listens on [::1]:P.
// Holding both makes the port ours alone, so a test can expect exact holders and a free port.
func listenLoopback() ([]net.Listener, int, error) {
	v6 := true
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		v6 = false
	} else {
		ln.Close()
	}
	for range 50 {
		ln4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, 0, fmt.Errorf("listen on 127.0.0.1: %w", err)
		}
		port := ln4.Addr().(*net.TCPAddr).Port
		if !v6 {
			return []net.Listener{ln4}, port, nil
		}
		ln6, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port))
		if err == nil {
			return []net.Listener{ln4, ln6}, port, nil
		}
		ln4.Close()
	}
	return nil, 0, fmt.Errorf("no port free on both 127.0.0.1 and ::1 in 50 tries")
}

// holdLoopback is listenLoopback for a test: the listeners close at cleanup (closing them
// earlier is harmless).
func holdLoopback(t *testing.T) ([]net.Listener, int) {
	t.Helper()
	lns, port, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
	})
	return lns, port
}

// startListener starts a helper process that listens on a port of its own and returns it and
// the port. Cleanup kills it and reaps it.
func startListener(t *testing.T) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=listen")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read helper's port: %v", err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper printed %q, not a port", line)
	}
	return cmd, port
}
