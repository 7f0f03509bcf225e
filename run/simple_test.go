package run

import "testing"

func TestExecCommand(t *testing.T) {
	cases := []struct{ in, want, leader string }{
		{"sleep 300", "exec sleep 300", "program"},
		{"  node server.js --port 3000", "exec node server.js --port 3000", "program"},
		{"python3 -m http.server 8123", "exec python3 -m http.server 8123", "program"},
		{`echo 'a; b' "c && d" e\;f`, `exec echo 'a; b' "c && d" e\;f`, "program"},
		{`ls *.txt $HOME ${X:-y} ~/a`, `exec ls *.txt $HOME ${X:-y} ~/a`, "program"},
		{"FOO=1 BAR='a b' node app.js", "FOO=1 BAR='a b' exec node app.js", "program"},
		{"exec sleep 9", "exec sleep 9", "program"},
		{"/usr/bin/env x=1 prog", "exec /usr/bin/env x=1 prog", "program"},
		{`"my prog" arg`, `exec "my prog" arg`, "program"},
		{"sleep 1; sleep 2", "", "shell"},
		{"cd /tmp && sleep 30", "", "shell"},
		{"a || b", "", "shell"},
		{"sleep 30 | cat", "", "shell"},
		{"sleep 30 &", "", "shell"},
		{"sleep 30 > /dev/null", "", "shell"},
		{"cat < in", "", "shell"},
		{"(sleep 30)", "", "shell"},
		{"{ sleep 30; }", "", "shell"},
		{"echo $(date)", "", "shell"},
		{"echo `date`", "", "shell"},
		{`echo "$(date)"`, "", "shell"},
		{"echo $((1+2))", "", "shell"},
		{"sleep 1\nsleep 2", "", "shell"},
		{"sleep 1 # why", "", "shell"},
		{"if true; then x; fi", "", "shell"},
		{"while true", "", "shell"},
		{"cd /tmp", "", "shell"},
		{"export A=1", "", "shell"},
		{"FOO=1", "", "shell"},
		{"", "", "shell"},
		{"echo 'unterminated", "", "shell"},
		{`echo "unterminated`, "", "shell"},
		{`echo trailing\`, "", "shell"},
		{"setsid sh -c 'python3 -m http.server 8123 &'; sleep 1000", "", "shell"},
	}
	for _, c := range cases {
		got, leader := execCommand(c.in)
		want := c.want
		if want == "" {
			want = c.in
		}
		if got != want || leader != c.leader {
			t.Errorf("execCommand(%q) = %q, %s; want %q, %s", c.in, got, leader, want, c.leader)
		}
	}
}
