package ps

import (
	"fmt"
	"testing"
)

// tableWith builds a table whose processes carry the given markers.
func tableWith(procs []Proc, marks map[int]string) Table {
	t := NewTable(procs)
	t.marks.read = func(pid int) string { return marks[pid] }
	t.marks.mine = func(int) bool { return true }
	return t
}

func TestMembersOfMarkers(t *testing.T) {
	// 10 is the dashboard (marker D, session 10); it spawned 30, the leader
	// of another record (marker X, session 30), and 40, a supervisor (helper
	// marker) whose child 41 is a third record (marker Y). 12 is a daemon of
	// the dashboard that called setsid (marker D). 50 escaped record X: a
	// double fork left it under pid 1 in a session of its own, marker X; 51
	// is its child. 60 carries X's marker but started before X (a reused
	// marker cannot be: it is ignored by the start time).
	procs := []Proc{
		{PID: 1, PPID: 0, SID: 1, StartTicks: 1, State: 'S'},
		{PID: 10, PPID: 1, SID: 10, StartTicks: 100, State: 'S'},
		{PID: 11, PPID: 10, SID: 10, StartTicks: 101, State: 'S'},
		{PID: 12, PPID: 11, SID: 12, StartTicks: 102, State: 'S'},
		{PID: 30, PPID: 10, SID: 30, StartTicks: 200, State: 'S'},
		{PID: 31, PPID: 30, SID: 30, StartTicks: 201, State: 'S'},
		{PID: 40, PPID: 10, SID: 40, StartTicks: 300, State: 'S'},
		{PID: 41, PPID: 40, SID: 41, StartTicks: 301, State: 'S'},
		{PID: 50, PPID: 1, SID: 50, StartTicks: 202, State: 'S'},
		{PID: 51, PPID: 50, SID: 50, StartTicks: 203, State: 'S'},
		{PID: 60, PPID: 1, SID: 60, StartTicks: 150, State: 'S'},
	}
	marks := map[int]string{10: "1.D", 11: "1.D", 12: "1.D", 30: "2.X", 31: "2.X", 40: HelperMarker,
		41: "3.Y", 50: "2.X", 51: "2.X", 60: "2.X"}
	tab := tableWith(procs, marks)
	dash := Owner{PID: 10, Ticks: 100, Instance: "1.D"}
	if got := fmt.Sprint(tab.MembersOf(dash, true)); got != "[10 11 12]" {
		t.Errorf("dashboard tree = %s, want [10 11 12]: other records and helpers are not its members", got)
	}
	x := Owner{PID: 30, Ticks: 200, Instance: "2.X"}
	if got := fmt.Sprint(tab.MembersOf(x, false)); got != "[30 31]" {
		t.Errorf("X without scan = %s, want [30 31]", got)
	}
	if got := fmt.Sprint(tab.MembersOf(x, true)); got != "[30 31 50 51]" {
		t.Errorf("X with scan = %s, want [30 31 50 51]", got)
	}
	// X's leader is gone and its pid unknown (an interrupted start): the
	// marker still finds what runs, and names its leader.
	if got := fmt.Sprint(tab.MembersOf(Owner{Instance: "2.X"}, true)); got != "[30 31 50 51 60]" {
		t.Errorf("X by marker alone = %s", got)
	}
	if l, ok := tab.Leader("2.X"); !ok || l.PID != 60 {
		t.Errorf("Leader = %v %v, want the oldest session leader 60", l.PID, ok)
	}
	// A legacy record (no marker) still owns unmarked daemons but not
	// other records.
	if got := fmt.Sprint(tab.Members(10, 100)); got != "[10 11]" {
		t.Errorf("Members without a marker = %s, want [10 11]", got)
	}
	if got := fmt.Sprint(tab.Marked()["3.Y"]); got != "[41]" {
		t.Errorf("Marked()[Y] = %s", got)
	}
	if _, ok := tab.Marked()[HelperMarker]; ok {
		t.Error("a helper's marker counts as a record's")
	}
}
