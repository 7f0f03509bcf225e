package ps

import (
	"fmt"
	"testing"

	"bgrun/store"
)

// tableWith builds a table whose processes carry the given markers.
func tableWith(procs []Proc, marks map[int]string) Table {
	t := newTable(procs)
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

// TestMarkerReadsSince: a scan for a start reads the environments of the
// processes that started since it only, and a table taken again takes the
// markers of processes that are still the same from the one before.
func TestMarkerReadsSince(t *testing.T) {
	procs := []Proc{
		{PID: 1, PPID: 0, SID: 1, StartTicks: 1, State: 'S'},
		{PID: 20, PPID: 1, SID: 20, StartTicks: 100, State: 'S'},
		{PID: 30, PPID: 1, SID: 30, StartTicks: 200, State: 'S'},
		{PID: 31, PPID: 30, SID: 30, StartTicks: 201, State: 'S'},
		{PID: 40, PPID: 1, SID: 40, StartTicks: 300, State: 'S'},
	}
	marks := map[int]string{20: "1.A", 30: "2.X", 31: "2.X", 40: "2.X"}
	read := map[int]int{}
	counted := func(tab Table) Table {
		tab.marks.read = func(pid int) string { read[pid]++; return marks[pid] }
		return tab
	}
	tab := counted(tableWith(procs, marks))
	if got := fmt.Sprint(tab.MembersOf(Owner{PID: 30, Ticks: 200, Instance: "2.X"}, true)); got != "[30 31 40]" {
		t.Errorf("X = %s, want [30 31 40]", got)
	}
	if read[1] != 0 || read[20] != 0 || read[31] != 0 {
		t.Errorf("read the environments of %v; only of candidates that started since 200", read)
	}
	// Taken again: pid 40 now names a new process, and 50 appeared.
	again := counted(tableWith(append(procs[:4:4], Proc{PID: 40, PPID: 1, SID: 40, StartTicks: 400, State: 'S'},
		Proc{PID: 50, PPID: 1, SID: 50, StartTicks: 500, State: 'S'}), marks))
	again.Remember(tab)
	clear(read)
	again.MembersOf(Owner{PID: 30, Ticks: 200, Instance: "2.X"}, true)
	if read[30] != 0 || read[40] != 1 || read[50] != 1 {
		t.Errorf("read %v again; want only 40 (its pid was reused) and 50 (new)", read)
	}
}

// A daemon whose parent ended just after forking it: `setsid sh -c 'sleep &'`
// leaves sleep (71) in the session of sh (70), which the snapshot saw as a
// zombie, or alive but gone by the time its environment was read. Either
// way the daemon carries the marker and must be found by it.
func TestMarkerOfDaemonWhoseParentEnded(t *testing.T) {
	for _, state := range []byte{'Z', 'S'} {
		procs := []Proc{
			{PID: 1, PPID: 0, SID: 1, StartTicks: 1, State: 'S'},
			{PID: 70, PPID: 1, SID: 70, StartTicks: 200, State: state},
			{PID: 71, PPID: 70, SID: 70, StartTicks: 201, State: 'S'},
			{PID: 72, PPID: 71, SID: 70, StartTicks: 202, State: 'S'},
		}
		marks := map[int]string{70: unknown, 71: "5.M", 72: "5.M"}
		for _, indexed := range []bool{false, true} {
			tab := tableWith(procs, marks)
			if indexed {
				if got := fmt.Sprint(tab.Marked()); got != "map[5.M:[71 72]]" {
					t.Errorf("parent %c: Marked = %s, want map[5.M:[71 72]]", state, got)
				}
			}
			if got := fmt.Sprint(tab.MembersOf(Owner{Instance: "5.M"}, true)); got != "[71 72]" {
				t.Errorf("parent %c, index built %v: members %s, want [71 72]", state, indexed, got)
			}
			if got := fmt.Sprint(tab.MembersOf(Owner{Instance: "5.M", Ticks: 200}, true)); got != "[71 72]" {
				t.Errorf("parent %c, index built %v: members since 200 %s, want [71 72]", state, indexed, got)
			}
			if m := tab.Marker(70); m != "" {
				t.Errorf("Marker of an ended process = %q, want none", m)
			}
			if state == 'S' && !tab.Unsure() {
				t.Errorf("a scan that met a process ended since is not unsure")
			}
		}
	}
}

// A scan that met no process whose marker was unknown is sure.
func TestScanSure(t *testing.T) {
	procs := []Proc{
		{PID: 1, PPID: 0, SID: 1, StartTicks: 1, State: 'S'},
		{PID: 30, PPID: 1, SID: 30, StartTicks: 200, State: 'S'},
		{PID: 40, PPID: 1, SID: 40, StartTicks: 100, State: 'S'},
	}
	tab := tableWith(procs, map[int]string{30: "2.X", 40: unknown})
	if got := fmt.Sprint(tab.MembersOf(Owner{Instance: "3.Y", Ticks: 150}, true)); got != "[]" || tab.Unsure() {
		t.Errorf("members %s, unsure %v; want none, sure (40 started before the start)", got, tab.Unsure())
	}
	if tab.sure([]store.Record{{Instance: "2.X", PID: 30, StartTicks: 200}}) != true {
		t.Error("a running record is not sure")
	}
	tab.Marked()
	if !tab.Unsure() || tab.sure([]store.Record{{Instance: "3.Y", StartTicks: 150}}) {
		t.Error("a full scan met 40, whose marker is unknown, and is still sure of a record that does not run")
	}
}
