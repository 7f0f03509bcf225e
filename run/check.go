package run

import (
	"os"
	"strings"

	"bgrun/store"
)

// CheckDir checks that dir is an existing directory: the one check of a
// working directory, shared by the command line and the dashboard.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case dir == "":
		return store.Errorf(store.KindBadInput, "directory is empty")
	case err != nil:
		return store.Errorf(store.KindBadInput, "directory %s does not exist", dir)
	case !fi.IsDir():
		return store.Errorf(store.KindBadInput, "%s is not a directory", dir)
	}
	return nil
}

// CheckSet checks one explicit variable, KEY=VALUE: a key that is not
// empty and holds no '=' or NUL, a value without NUL.
func CheckSet(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" || strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0) {
		return store.Errorf(store.KindBadInput, "variable %q is not KEY=VALUE", kv)
	}
	return nil
}
