package logs

import (
	"os"
	"syscall"
)

// collapseSupported reports whether the file system of path has not refused
// a collapse-range rotation yet.
func collapseSupported(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	_, bad := noCollapse.Load(st.Sys().(*syscall.Stat_t).Dev)
	return !bad
}
