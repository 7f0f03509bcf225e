package store

// Lock does nothing on Windows, whose standard library has no file locks;
// changes of one record are not serialized there.
func (db *DB) Lock(name string) (unlock func(), err error) {
	return func() {}, ValidateName(name)
}

// TryLock always succeeds on Windows (see Lock).
func (db *DB) TryLock(name string) (unlock func(), ok bool, err error) {
	return func() {}, true, ValidateName(name)
}

// LockWork does nothing on Windows (see Lock).
func (db *DB) LockWork(kind, key string) (unlock func(), err error) { return func() {}, nil }

// Flock does nothing on Windows (see Lock).
func Flock(path string, wait bool) (unlock func(), ok bool, err error) { return func() {}, true, nil }

// Held reports false on Windows (see Lock).
func Held(path string) bool { return false }
