package logs

import "os"

// tryLock does not lock on Windows: two rotations of one file at the same
// moment may then both copy it, doubling or dropping a rotated copy.
func tryLock(f *os.File) (bool, error) { return true, nil }

func lockShared(f *os.File) {}

func unlock(f *os.File) {}
