package store

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// homeEnv gives the test a HOME of its own and returns its ~/.bgr.
func homeEnv(t *testing.T) string {
	t.Helper()
	h := t.TempDir()
	t.Setenv("HOME", h)
	t.Setenv("BGR_HOME", "")
	t.Setenv("DB_NAME", "")
	return filepath.Join(h, ".bgr")
}

func TestFolderOfEachStore(t *testing.T) {
	bgr := homeEnv(t)
	other := t.TempDir()
	for path, want := range map[string]string{
		filepath.Join(bgr, "bgr.sqlite"):            bgr,
		filepath.Join(bgr, "other.sqlite"):          filepath.Join(bgr, "other"),
		filepath.Join(bgr, "plain"):                 filepath.Join(bgr, "plain.d"),
		filepath.Join(bgr, "other", "other.sqlite"): filepath.Join(bgr, "other"),
		filepath.Join(other, "x.sqlite"):            other,
	} {
		if got := Folder(path); got != want {
			t.Errorf("Folder(%s) = %s, want %s", path, got, want)
		}
	}
	for name, want := range map[string]string{
		"":         filepath.Join(bgr, "bgr.sqlite"),
		"bgr":      filepath.Join(bgr, "bgr.sqlite"),
		"other":    filepath.Join(bgr, "other", "other.sqlite"),
		"x.sqlite": filepath.Join(bgr, "x", "x.sqlite"),
	} {
		t.Setenv("DB_NAME", name)
		if got, err := DefaultPath(); err != nil || got != want {
			t.Errorf("DB_NAME=%s: %s, %v; want %s", name, got, err, want)
		}
	}
	// A store an older bgrun made as ~/.bgr/old.sqlite stays where it is.
	if err := os.MkdirAll(bgr, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bgr, "old.sqlite"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DB_NAME", "old")
	if got, _ := DefaultPath(); got != filepath.Join(bgr, "old.sqlite") {
		t.Errorf("older store moved: %s", got)
	}
}

func TestReadSmallRefusesWhatIsNotASmallFile(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.env")
	os.WriteFile(ok, []byte("A=1\n"), 0o600)
	if b, err := ReadSmall(ok, 1<<20); err != nil || string(b) != "A=1\n" {
		t.Fatalf("ReadSmall(ok) = %q, %v", b, err)
	}
	big := filepath.Join(dir, "big.toml")
	os.WriteFile(big, make([]byte, 1<<20+1), 0o600)
	exact := filepath.Join(dir, "exact.toml")
	os.WriteFile(exact, make([]byte, 1<<20), 0o600)
	if _, err := ReadSmall(exact, 1<<20); err != nil {
		t.Errorf("a file of exactly 1 MiB: %v", err)
	}
	for path, want := range map[string]string{
		big:         "larger than 1 MiB",
		dir:         "not a regular file (a folder)",
		os.DevNull:  "not a regular file (a device)",
		"/dev/zero": "not a regular file (a device)",
	} {
		if _, err := os.Stat(path); err != nil {
			continue // /dev/zero on Windows
		}
		_, err := ReadSmall(path, 1<<20)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ReadSmall(%s) = %v, want %q", path, err, want)
		}
	}
}

// TestMigrationMarksOwnedLogs opens a store of schema version 1, as an
// older bgrun left it: the default logs in bgrun's folder count as
// bgrun's, a log the user named does not.
func TestMigrationMarksOwnedLogs(t *testing.T) {
	bgr := homeEnv(t)
	os.MkdirAll(bgr, 0o755)
	path := filepath.Join(bgr, "bgr.sqlite")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(schema + "; PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][3]string{
		{"def", LogPath(bgr, "def", "out"), LogPath(bgr, "def", "err")},
		{"mine", "/srv/precious.txt", LogPath(bgr, "mine", "err")},
	} {
		if _, err := old.Exec(`INSERT INTO process (name, command, workdir, stdout_path, stderr_path, created_at, updated_at)
			VALUES (?, 'true', '/', ?, ?, '', '')`, r[0], r[1], r[2]); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, want := range map[string][2]bool{"def": {true, true}, "mine": {false, true}} {
		r, err := db.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]bool{r.StdoutOwned, r.StderrOwned}; got != want {
			t.Errorf("%s: owned %v, want %v", name, got, want)
		}
	}
	r, _ := db.Get("mine")
	r.StdoutOwned = true
	if err := db.Put(&r); err != nil {
		t.Fatal(err)
	}
	if r, _ := db.Get("mine"); !r.StdoutOwned {
		t.Errorf("StdoutOwned not stored")
	}
}
