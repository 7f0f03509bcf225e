package store

import "os"

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

// FlockFile does not lock on Windows (see Lock): two rotations of one log at
// the same moment may then both copy it.
func FlockFile(f *os.File, shared, wait bool) (ok bool, err error) { return true, nil }

// Funlock does nothing on Windows (see FlockFile).
func Funlock(f *os.File) {}
