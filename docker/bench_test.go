package docker

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkStatus measures one Status call for a listing of 1 and of 10 running
// containers, identified by --name (one inspect call) or by label (ps plus inspect).
// It needs the daemon of .ci/docker.sh:
//
//	go test ./docker/ -run '^$' -bench Status
func BenchmarkStatus(b *testing.B) {
	needDaemon(b)
	for _, n := range []int{1, 10} {
		var named, labelled []Record
		for range n {
			named = append(named, startNamed(b, uniqueName(b), testImage+" sleep 1000"))
			name := uniqueName(b)
			removeOnCleanup(b, "label=bgrun.name="+name)
			rec := Record{Name: name, Command: Label("docker run -d --init "+testLabel+" "+testImage+" sleep 1000", name)}
			sh(b, rec.Command)
			labelled = append(labelled, rec)
		}
		for kind, recs := range map[string][]Record{"named": named, "labelled": labelled} {
			b.Run(fmt.Sprintf("%s-%d", kind, n), func(b *testing.B) {
				for b.Loop() {
					m, err := Status(context.Background(), recs)
					if err != nil {
						b.Fatal(err)
					}
					if len(m) != n {
						b.Fatalf("Status returned %d records, want %d", len(m), n)
					}
				}
			})
		}
	}
}
