package ports

import (
	"context"
	"os"
	"slices"
	"testing"
)

// TestParseProcNetMatchesSS checks the /proc decoder against ss: both fixtures were captured
// from one machine state, so they must hold the same (address, port) pairs, except that /proc
// cannot tell a dual-stack socket (ss "*") from an IPv6-only one ("::").
func TestParseProcNetMatchesSS(t *testing.T) {
	var fromProc []Listener
	for _, name := range []string{"proc-net-tcp.txt", "proc-net-tcp6.txt"} {
		for _, s := range parseProcNet(readFixture(t, name)) {
			fromProc = append(fromProc, Listener{Addr: s.addr, Port: s.port})
		}
	}
	var fromSS []Listener
	for _, l := range parseSS(readFixture(t, "ss-traps.txt")) {
		if l.Addr == "*" {
			l.Addr = "::"
		}
		l.PID = 0
		if !slices.Contains(fromSS, l) {
			fromSS = append(fromSS, l)
		}
	}
	cmp := func(a, b Listener) int {
		if a.Port != b.Port {
			return a.Port - b.Port
		}
		if a.Addr < b.Addr {
			return -1
		}
		if a.Addr > b.Addr {
			return 1
		}
		return 0
	}
	slices.SortFunc(fromProc, cmp)
	fromProc = slices.Compact(fromProc) // the SO_REUSEPORT pair is two sockets on one address
	slices.SortFunc(fromSS, cmp)
	if !slices.Equal(fromProc, fromSS) {
		t.Errorf("/proc gives\n%v\nss gives\n%v", fromProc, fromSS)
	}
}

func TestDecodeProcAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0100007F", "127.0.0.1"},
		{"00000000", "0.0.0.0"},
		{"00000000000000000000000001000000", "::1"},
		{"00000000000000000000000000000000", "::"},
		{"0000000000000000FFFF00000100007F", "::ffff:127.0.0.1"},
	}
	for _, tt := range tests {
		if got, ok := decodeProcAddr(tt.in); !ok || got != tt.want {
			t.Errorf("decodeProcAddr(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "0100007", "0100007G", "+100007F", "0x00007F"} {
		if got, ok := decodeProcAddr(bad); ok {
			t.Errorf("decodeProcAddr(%q) = %q, want failure", bad, got)
		}
	}
}

func TestListProc(t *testing.T) {
	t.Parallel()
	_, port := holdLoopback(t)
	cmd, childPort := startListener(t)
	ls, err := listProc(context.Background())
	if err != nil {
		t.Fatalf("listProc: %v", err)
	}
	want := Listener{Addr: "127.0.0.1", Port: port, PID: os.Getpid()}
	if !slices.Contains(ls, want) {
		t.Errorf("listProc lacks %+v; for that port it has %v", want, on(ls, port))
	}
	if got := Holders(ls, childPort); !slices.Equal(got, []int{cmd.Process.Pid}) {
		t.Errorf("listProc holders of %d = %v, want [%d]", childPort, got, cmd.Process.Pid)
	}
}

// TestListWithoutSS takes List's fallback path by naming an ss that does not exist.
func TestListWithoutSS(t *testing.T) {
	t.Parallel()
	_, port := holdLoopback(t)
	ls, err := listSS(context.Background(), "bgrun-no-such-ss")
	if err != nil {
		t.Fatalf("listSS without ss: %v", err)
	}
	if got := Holders(ls, port); !slices.Equal(got, []int{os.Getpid()}) {
		t.Errorf("fallback holders of %d = %v, want [%d]", port, got, os.Getpid())
	}
}

func BenchmarkListProc(b *testing.B) {
	for b.Loop() {
		if _, err := listProc(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
