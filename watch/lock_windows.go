package watch

import "os"

func openLock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

// tryLock always succeeds: Windows has no supervisor yet.
func tryLock(*os.File) (bool, error) { return true, nil }

func lock(*os.File) error { return nil }
