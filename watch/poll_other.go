//go:build !linux

package watch

import (
	"os"
	"time"
)

// stampsTrusted is false outside Linux: not every file system there updates a
// directory's stamp reliably when its entries change, and FileInfo gives no ctime, so
// every directory is listed on every scan.
const stampsTrusted = false

// lstat fills e from the metadata of path, without following a final symlink. It leaves
// Ino at 0, so a rename shows as a deletion and a creation on these platforms.
func lstat(path string, e *entry) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	*e = entry{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Mode: fi.Mode()}
	return nil
}

// openDir reports that entries are lstatted by their whole path here.
func openDir(string) (int, bool) { return -1, false }

// closeDir is never called here, since openDir opens nothing.
func closeDir(int) {}

// lstatAt is never called here, since openDir opens nothing.
func lstatAt(int, string, *entry) error { panic("watch: lstatAt without openDir") }

// threadCPU reports that the thread's CPU time is not read here, so Run paces its passes
// by their wall time, which overstates their cost on a loaded machine.
func threadCPU() (time.Duration, bool) { return 0, false }

// pseudoFS reports false where the kernel's file systems are not known.
func pseudoFS(path string) bool { return false }
