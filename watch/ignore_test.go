package watch

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestIgnoreMatch(t *testing.T) {
	tests := []struct {
		patterns []string
		rel      string
		isDir    bool
		want     bool
	}{
		// Built-in rules: by segment, at any depth, never by substring.
		{nil, ".git", true, true},
		{nil, ".git/index", false, true},
		{nil, "sub/.git/HEAD", false, true},
		{nil, "node_modules", true, true},
		{nil, "web/node_modules/react/index.js", false, true},
		{nil, ".gitignore", false, false},
		{nil, ".github/workflows/ci.yml", false, false},
		{nil, "my.git/file", false, false},
		{nil, "node_modules_backup/x.js", false, false},
		{nil, "src/main.go", false, false},
		{nil, ".", true, false},
		{nil, "", true, false},

		// A bare name matches that segment anywhere, file or directory.
		{[]string{"dist"}, "dist", true, true},
		{[]string{"dist"}, "web/dist/app.js", false, true},
		{[]string{"dist"}, "distant.go", false, false},
		{[]string{"tmp"}, "a/tmp", false, true},

		// A trailing slash matches directories only.
		{[]string{"build/"}, "build", true, true},
		{[]string{"build/"}, "build", false, false},
		{[]string{"build/"}, "build/out.o", false, true},
		{[]string{"build/"}, "x/build/out.o", false, true},

		// Globs apply per segment.
		{[]string{"*.log"}, "app.log", false, true},
		{[]string{"*.log"}, "logs/app.log", false, true},
		{[]string{"*.log"}, "app.log.txt", false, false},
		{[]string{"*.sw?"}, "a/.main.go.swp", false, true}, // * matches a leading dot, as in git
		{[]string{".*.sw?"}, "a/.main.go.swp", false, true},
		{[]string{"[ab].txt"}, "b.txt", false, true},
		{[]string{"[ab].txt"}, "c.txt", false, false},

		// A slash anchors the pattern at the root.
		{[]string{"/config.toml"}, "config.toml", false, true},
		{[]string{"/config.toml"}, "sub/config.toml", false, false},
		{[]string{"docs/*.md"}, "docs/a.md", false, true},
		{[]string{"docs/*.md"}, "x/docs/a.md", false, false},
		{[]string{"docs/*.md"}, "docs/sub/a.md", false, false},

		// ** spans segments.
		{[]string{"**/gen"}, "gen", true, true},
		{[]string{"**/gen"}, "a/b/gen/x.go", false, true},
		{[]string{"a/**/b"}, "a/b", true, true},
		{[]string{"a/**/b"}, "a/x/y/b", true, true},
		{[]string{"a/**/b"}, "a/x/c", true, false},
		{[]string{"out/**"}, "out/x/y.js", false, true},
		{[]string{"out/**"}, "out", true, false},
		{[]string{"**/*.pyc"}, "pkg/mod/x.pyc", false, true},

		// Negation: the last matching pattern wins.
		{[]string{"*.tmp", "!keep.tmp"}, "keep.tmp", false, false},
		{[]string{"*.tmp", "!keep.tmp"}, "drop.tmp", false, true},
		{[]string{"!keep.tmp", "*.tmp"}, "keep.tmp", false, true},
		{[]string{"*.tmp,!keep.tmp"}, "sub/keep.tmp", false, false},
		// A file under an excluded directory cannot be re-included.
		{[]string{"build/", "!build/keep.txt"}, "build/keep.txt", false, true},
		// Negation cannot undo the built-in rules.
		{[]string{"!.git"}, ".git/HEAD", false, true},

		// Escapes keep a leading ! or # literal.
		{[]string{`\!bang`}, "!bang", false, true},
		{[]string{`\#hash`}, "#hash", false, true},

		// Comma-separated and space-padded values, as a flag delivers them.
		{[]string{" *.a , *.b "}, "x.b", false, true},
		{[]string{"*.a,,*.b"}, "x.a", false, true},
	}
	for _, tt := range tests {
		ig, err := newIgnore(t.TempDir(), tt.patterns, nil)
		if err != nil {
			t.Fatalf("NewIgnore(%q): %v", tt.patterns, err)
		}
		if got := ig.Match(tt.rel, tt.isDir); got != tt.want {
			t.Errorf("patterns %q: Match(%q, dir=%v) = %v, want %v", tt.patterns, tt.rel, tt.isDir, got, tt.want)
		}
	}
}

func TestIgnoreNilAppliesBuiltins(t *testing.T) {
	var ig *ignore
	if !ig.Match("a/node_modules/b", false) {
		t.Error("nil Ignore does not skip node_modules")
	}
	if ig.Match("a/b.go", false) {
		t.Error("nil Ignore skips an ordinary file")
	}
}

func TestIgnoreOSSeparators(t *testing.T) {
	ig, err := newIgnore(t.TempDir(), []string{"docs/*.md"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ig.Match(filepath.Join("docs", "a.md"), false) {
		t.Error("Match does not accept an OS-separated path")
	}
	if !ig.Match("./docs/a.md", false) {
		t.Error("Match does not clean ./docs/a.md")
	}
}

func TestIgnoreExactFiles(t *testing.T) {
	root := t.TempDir()
	other := t.TempDir()
	ig, err := newIgnore(root, nil, []string{
		filepath.Join(root, "logs", "api-out.txt"),
		"api-err.txt",
		filepath.Join(other, "outside.txt"),
		"",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"logs/api-out.txt", "api-err.txt"} {
		if !ig.Match(rel, false) {
			t.Errorf("exact file %s not skipped", rel)
		}
	}
	for _, rel := range []string{"logs", "logs/api-out.txt.1", "outside.txt", "api-out.txt"} {
		if ig.Match(rel, false) {
			t.Errorf("%s skipped, want only the exact files", rel)
		}
	}
	if len(ig.exact) != 2 {
		t.Errorf("exact = %v, want the two files inside the root", ig.exact)
	}
}

func TestIgnoreExactFileThroughSymlinkedRoot(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	ig, err := newIgnore(link, nil, []string{filepath.Join(real, "out.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if !ig.Match("out.txt", false) {
		t.Error("log file named through the real path is not skipped under a symlinked root")
	}
}

func TestIgnoreFile(t *testing.T) {
	root := t.TempDir()
	content := "# generated files\n\n*.gen.go\r\n  \nbuild/   \n!keep.gen.go\n"
	if err := os.WriteFile(filepath.Join(root, ignoreFile), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	ig, err := newIgnore(root, []string{"*.tmp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"a.gen.go":          true,
		"keep.gen.go":       false,
		"build/x":           true,
		"x.tmp":             true,
		"main.go":           false,
		"# generated files": false,
	} {
		if got := ig.Match(rel, false); got != want {
			t.Errorf("Match(%q) = %v, want %v", rel, got, want)
		}
	}
}

func TestIgnoreFlagOverridesFile(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, ignoreFile), []byte("*.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ig, err := newIgnore(root, []string{"!notes.txt"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ig.Match("notes.txt", false) {
		t.Error("a flag pattern does not override the ignore file")
	}
	if !ig.Match("other.txt", false) {
		t.Error("the ignore file's pattern is lost")
	}
}

func TestIgnoreBadPatterns(t *testing.T) {
	for _, p := range []string{"[", "a/[b", "!", "/", "!/"} {
		_, err := newIgnore(t.TempDir(), []string{p}, nil)
		if err == nil {
			t.Errorf("NewIgnore(%q) accepted a bad pattern", p)
			continue
		}
		if !errors.Is(err, path.ErrBadPattern) && !errors.Is(err, errEmptyPattern) {
			t.Errorf("NewIgnore(%q) = %v, want ErrBadPattern or errEmptyPattern", p, err)
		}
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, ignoreFile), []byte("ok\n[bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := newIgnore(root, nil, nil)
	if err == nil || !strings.Contains(err.Error(), ignoreFile+":2") {
		t.Errorf("bad line in %s: err = %v, want its name and line number", ignoreFile, err)
	}
}

func TestIgnoreUnreadableFile(t *testing.T) {
	root := t.TempDir()
	// A directory in place of the file cannot be read as one.
	if err := os.Mkdir(filepath.Join(root, ignoreFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := newIgnore(root, nil, nil); err == nil {
		t.Errorf("NewIgnore with an unreadable %s: no error", ignoreFile)
	}
}

func FuzzIgnoreMatch(f *testing.F) {
	f.Add("a/**/b", "a/x/b", true)
	f.Add("!*.go", "x/y.go", false)
	f.Add("[", "x", false)
	f.Fuzz(func(t *testing.T, pattern, rel string, isDir bool) {
		ig, err := newIgnore("", []string{pattern}, nil)
		if err != nil {
			return
		}
		ig.Match(rel, isDir)
	})
}
