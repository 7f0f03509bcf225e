package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"bgrun/ps"
)

// cmdReboot simulates a reboot for a script: every process of its test (the
// managed ones and their supervisors, all carrying BGR_TEST_TAG) is killed
// with SIGKILL, and it returns once none of them runs. The store is left as
// it was, as a power cut would leave it.
func cmdReboot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 0 {
		ts.Fatalf("usage: reboot")
	}
	tag := ts.Getenv("BGR_TEST_TAG")
	deadline := time.Now().Add(10 * time.Second)
	for {
		sweep(tag)
		left := tagged(tag)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("processes %v survived SIGKILL", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tagged lists the live (not zombie) processes that carry the tag.
func tagged(tag string) []int {
	want := []byte("BGR_TEST_TAG=" + tag + "\x00")
	t, err := ps.Snapshot()
	if err != nil {
		return nil
	}
	var out []int
	for _, pid := range t.PIDs() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !bytes.Contains(b, want) || pid == os.Getpid() {
			continue
		}
		if p, ok := ps.Read(pid); ok && p.State != 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

// systemdRunning reports whether systemd is the init system here, as
// sd_booted(3) decides.
func systemdRunning() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}
