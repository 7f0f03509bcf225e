package ports

import (
	"slices"
	"strings"
)

// parseSS parses the output of `ss -tlnpH` (iproute2, Linux). Each line reads
//
//	LISTEN 0 16 127.0.0.1:41967 0.0.0.0:* users:(("python3",pid=2233,fd=3),("python3",pid=2234,fd=3))
//
// Columns are split on any run of white space because their widths change from run to run and
// lines carry trailing spaces. A header line (output without -H) and a leading Netid column
// (`ss -tulnp`) are accepted; lines in a state other than LISTEN are skipped. A line without a
// users field, or whose users field holds no readable pid, gives one Listener with PID 0: the
// port is taken even though we cannot see by whom.
//
// Process names are never parsed: they are the kernel's comm, which may hold spaces, tabs,
// quotes, commas and even "pid=7,fd=9". Only ss's own text is read, see ssPIDs.
func parseSS(out []byte) []Listener {
	var ls []Listener
	for line := range strings.Lines(string(out)) {
		ls = appendSSLine(ls, line)
	}
	return ls
}

// appendSSLine appends the listeners of one ss line to ls.
func appendSSLine(ls []Listener, line string) []Listener {
	var buf [6]string
	f, end := leadingFields(line, buf[:5])
	if len(f) > 0 && (f[0] == "tcp" || f[0] == "tcp6") {
		// The Netid column appears when ss is asked for more than one protocol.
		f, end = leadingFields(line, buf[:6])
		f = f[1:]
	}
	// State, Recv-Q, Send-Q, Local, Peer.
	if len(f) < 5 || f[0] != "LISTEN" {
		return ls
	}
	addr, port, ok := splitHostPort(f[3])
	if !ok {
		return ls
	}
	n := len(ls)
	ls = appendSSOwners(ls, Listener{Addr: addr, Port: port}, line[end:])
	if len(ls) == n {
		ls = append(ls, Listener{Addr: addr, Port: port})
	}
	return ls
}

// appendSSOwners appends to ls one copy of l per distinct pid of a users field such as
// `users:(("my app (v2",pid=2572,fd=3),("a"b,c=d",pid=2573,fd=4))`.
//
// ss prints each owner as ("NAME",pid=N,fd=N), with NAME unescaped, and stops reading the name
// at its first ')' (so "my app (v2)" prints as "my app (v2"). Every ')' in the field is
// therefore ss's own and closes one entry; in each entry, the text after the last '"' is ss's
// own ",pid=N,fd=N", free of anything the process chose. Within that text, pid=N must be a
// whole comma-separated item, so pid=12 never matches pid=123.
func appendSSOwners(ls []Listener, l Listener, users string) []Listener {
	body, ok := strings.CutPrefix(strings.TrimSpace(users), "users:(")
	if !ok {
		return ls
	}
	n := len(ls)
	for entry := range strings.SplitSeq(body, ")") {
		tail := entry[strings.LastIndexByte(entry, '"')+1:]
		for item := range strings.SplitSeq(tail, ",") {
			v, ok := strings.CutPrefix(item, "pid=")
			if !ok {
				continue
			}
			pid, ok := parsePID(v)
			if !ok || pid == 0 || slices.ContainsFunc(ls[n:], func(x Listener) bool { return x.PID == pid }) {
				continue
			}
			l.PID = pid
			ls = append(ls, l)
		}
	}
	return ls
}

// parseNetstat parses the output of `netstat -ano` (Windows). It keeps TCP lines in LISTENING
// state, such as
//
//	TCP    [::]:135               [::]:0                 LISTENING       1012
//
// and takes the pid from the last column (PID 0 when it is missing, as without -o). Windows
// translates the state column ("ABHÖREN" in German), so a TCP line whose state is not one of
// the English names is also taken as listening when its foreign address is the unspecified
// address with port 0, which only a listening socket shows. UDP lines, headers and connected
// sockets are skipped.
func parseNetstat(out []byte) []Listener {
	var ls []Listener
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.EqualFold(f[0], "TCP") {
			continue
		}
		state, pid := f[3], 0
		if len(f) > 4 {
			// A translated state may be more than one word; the pid is always last.
			state = strings.Join(f[3:len(f)-1], " ")
			pid, _ = parsePID(f[len(f)-1])
		}
		if state != "LISTENING" && (englishTCPStates[state] || !unspecifiedPeer(f[2])) {
			continue
		}
		addr, port, ok := splitHostPort(f[1])
		if !ok {
			continue
		}
		ls = append(ls, Listener{Addr: addr, Port: port, PID: pid})
	}
	return ls
}

// englishTCPStates are the states netstat prints on an English Windows other than LISTENING.
// BOUND (netstat -q) also shows an unspecified foreign address, so it must be recognised to be
// left out.
var englishTCPStates = map[string]bool{
	"BOUND": true, "CLOSED": true, "CLOSE_WAIT": true, "CLOSING": true, "DELETE_TCB": true,
	"ESTABLISHED": true, "FIN_WAIT_1": true, "FIN_WAIT_2": true, "LAST_ACK": true,
	"SYN_RECEIVED": true, "SYN_SENT": true, "TIME_WAIT": true,
}

// unspecifiedPeer reports whether a netstat foreign address is 0.0.0.0:0 or [::]:0.
func unspecifiedPeer(s string) bool {
	return s == "0.0.0.0:0" || s == "[::]:0"
}

// parseLsof parses the output of `lsof -nP -iTCP -sTCP:LISTEN` (macOS, and other Unix systems
// as a fallback):
//
//	COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME
//	python3  9095 root    3u  IPv4  16772      0t0  TCP 127.0.0.1:36485 (LISTEN)
//
// Only lines whose last column is "(LISTEN)" count, so the header and connected sockets
// (`127.0.0.1:5432->127.0.0.1:50123 (ESTABLISHED)`, from output without -sTCP:LISTEN) are
// skipped. The pid is column 2: lsof escapes spaces in COMMAND as \x20, so the columns hold.
// Should a COMMAND ever print a raw space, the pid column would not be a number and the socket
// is reported with PID 0 rather than dropped, so that the port still counts as busy.
func parseLsof(out []byte) []Listener {
	var ls []Listener
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 3 || f[len(f)-1] != "(LISTEN)" {
			continue
		}
		name := f[len(f)-2]
		if strings.Contains(name, "->") {
			continue
		}
		addr, port, ok := splitHostPort(name)
		if !ok {
			continue
		}
		pid, _ := parsePID(f[1])
		ls = append(ls, Listener{Addr: addr, Port: port, PID: pid})
	}
	return ls
}

// splitHostPort splits a listing's local address such as "127.0.0.1%lo:51927", "*:80",
// "[::ffff:127.0.0.1]:55915" or "[fe80::1%12]:139" at its last ':' and returns the address
// without brackets and without the %interface or %zone suffix. Port must be 1-65535.
func splitHostPort(s string) (addr string, port int, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, false
	}
	port, ok = parsePort(s[i+1:])
	if !ok {
		return "", 0, false
	}
	host := s[:i]
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	host = strings.TrimPrefix(host, "[")
	host = strings.TrimSuffix(host, "]")
	return host, port, true
}

// parsePort parses a decimal TCP port, 1-65535.
func parsePort(s string) (int, bool) {
	n, ok := parseDigits(s, 5)
	if !ok || n < 1 || n > 65535 {
		return 0, false
	}
	return n, true
}

// parsePID parses a decimal pid. Real pids stay far below 2^31 (Linux caps them at 2^22), so a
// larger number is refused as garbage.
func parsePID(s string) (int, bool) {
	return parseDigits(s, 10)
}

// parseDigits parses 1 to maxLen ASCII digits (strconv.Atoi would also take a sign). It counts
// in uint64 and refuses values above 2^31-1, so that the result fits an int on any platform.
func parseDigits(s string, maxLen int) (int, bool) {
	if len(s) == 0 || len(s) > maxLen {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<31-1 {
		return 0, false
	}
	return int(n), true
}

// leadingFields fills f with the first len(f) white-space separated fields of line and returns
// those it found and the offset just past the last one, so that the rest of the line (the users
// field, whose names may hold spaces) can be read as it is. f is the caller's, often an array on
// its stack, so a line costs no allocation.
func leadingFields(line string, f []string) ([]string, int) {
	n, i := 0, 0
	for n < len(f) {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			break
		}
		j := i
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		f[n] = line[i:j]
		n++
		i = j
	}
	return f[:n], i
}

// isSpace reports whether c separates columns in the listings: ASCII white space only, since
// the tools pad with spaces and end lines with \n or \r\n.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
