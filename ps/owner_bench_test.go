package ps

import "testing"

// BenchmarkSnapshot is the cost of one process table, which every listing
// pays.
func BenchmarkSnapshot(b *testing.B) {
	for b.Loop() {
		if _, err := Snapshot(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotMarkerScan adds the marker scan a listing pays when some
// record has a marker: one environment read per candidate process.
func BenchmarkSnapshotMarkerScan(b *testing.B) {
	for b.Loop() {
		t, err := Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		t.MembersOf(Owner{Instance: "0.none"}, true)
	}
}
