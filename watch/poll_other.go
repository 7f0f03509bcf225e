//go:build !linux

package watch

import "os"

// stampsTrusted is false outside Linux: not every file system there updates a
// directory's stamp reliably when its entries change, and FileInfo gives no ctime, so
// every directory is listed on every scan.
const stampsTrusted = false

// lstat fills e from the metadata of path, without following a final symlink. It leaves
// Ino at 0, so a rename shows as a deletion and a creation on these platforms.
func lstat(path string, e *Entry) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	*e = Entry{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Mode: fi.Mode()}
	return nil
}
