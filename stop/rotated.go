package stop

import (
	"fmt"
	"os"

	"bgrun/store"
)

// rotatedLogs returns the rotated copies of the logs bgrun created for r that
// exist (NAME-out.txt.1, .2, ...: files bgrun's log rotation made), so that
// deleting a record leaves none behind; copies of a log bgrun did not create
// are the user's to remove, and so are those of a record that does not
// rotate (a start refuses a log whose copies' names are taken only while
// rotation is on). It looks at the names rotation writes, .1 to .KEEP, and
// stops at the first one missing.
func rotatedLogs(r store.Record) []string {
	maxSize, keep := r.LogLimits()
	if maxSize <= 0 {
		return nil
	}
	var out []string
	for j, p := range []string{r.StdoutPath, r.StderrPath} {
		owned := []bool{r.StdoutOwned, r.StderrOwned}[j]
		if p == "" || !owned || (j == 1 && p == r.StdoutPath) {
			continue
		}
		for i := 1; i <= keep; i++ {
			c := fmt.Sprintf("%s.%d", p, i)
			if st, err := os.Lstat(c); err != nil || !st.Mode().IsRegular() {
				break
			}
			out = append(out, c)
		}
	}
	return out
}
