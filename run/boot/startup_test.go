package boot

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func startupOptions(t *testing.T, init string) StartupOptions {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	return StartupOptions{Init: init, Binary: exe, DBPath: filepath.Join(home, "work.sqlite"), Home: home}
}

// TestSystemdUnitVerifies checks the unit with systemd's own checker.
func TestSystemdUnitVerifies(t *testing.T) {
	o := startupOptions(t, "systemd")
	text, path, err := startupUnit(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`ExecStart="` + o.Binary + `" --_supervise "` + o.DBPath + `" --boot --db "` + o.DBPath + `"`,
		"Type=simple", "Restart=on-failure", "KillMode=process", writtenBy} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %q:\n%s", want, text)
		}
	}
	if os.Geteuid() == 0 {
		if !strings.Contains(text, "User=root") || !strings.Contains(text, "WantedBy=multi-user.target") || !strings.HasPrefix(path, "/etc/systemd/system/") {
			t.Errorf("as root, want a system unit with User= in /etc/systemd/system (at %s):\n%s", path, text)
		}
	} else if !strings.Contains(text, "WantedBy=default.target") || strings.Contains(text, "User=") {
		t.Errorf("want a user unit:\n%s", text)
	}
	if base := filepath.Base(path); base != "bgrun-work.service" && !strings.HasPrefix(base, "bgrun-work-") {
		t.Errorf("unit named %s, want it named after the store", base)
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("install systemd (systemd-analyze) to verify the unit")
	}
	file := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", file).CombinedOutput()
	// verify exits 0 on an unknown key and only warns: any output is a
	// failure.
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, text)
	}
}

// plist is enough of a property list to read back what bgrun writes.
type plist struct {
	XMLName xml.Name `xml:"plist"`
	Version string   `xml:"version,attr"`
	Dict    struct {
		Items []plistItem `xml:",any"`
	} `xml:"dict"`
}

type plistItem struct {
	XMLName xml.Name
	Text    string      `xml:",chardata"`
	Items   []plistItem `xml:",any"`
}

// TestLaunchdPlistParses reads the plist back with encoding/xml, as
// `plutil -lint` would, and checks its keys.
func TestLaunchdPlistParses(t *testing.T) {
	o := startupOptions(t, "launchd")
	text, path, err := startupUnit(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, filepath.Join("Library", "LaunchAgents", "com.bgrun.work.plist")) {
		t.Errorf("plist path %s", path)
	}
	var p plist
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.Strict = true
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("plist does not parse: %v\n%s", err, text)
	}
	if p.Version != "1.0" {
		t.Errorf("plist version %q", p.Version)
	}
	keys := map[string]plistItem{}
	items := p.Dict.Items
	for i := 0; i+1 < len(items); i += 2 {
		if items[i].XMLName.Local != "key" {
			t.Fatalf("dict item %d is <%s>, want <key>", i, items[i].XMLName.Local)
		}
		keys[items[i].Text] = items[i+1]
	}
	if keys["Label"].Text != "com.bgrun.work" {
		t.Errorf("Label = %q", keys["Label"].Text)
	}
	var args []string
	for _, s := range keys["ProgramArguments"].Items {
		args = append(args, s.Text)
	}
	if want := []string{o.Binary, "--_supervise", o.DBPath, "--boot", "--db", o.DBPath}; strings.Join(args, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("ProgramArguments = %q, want %q", args, want)
	}
	for _, k := range []string{"RunAtLoad", "AbandonProcessGroup"} {
		if keys[k].XMLName.Local != "true" {
			t.Errorf("%s = <%s>, want <true/>", k, keys[k].XMLName.Local)
		}
	}
	// Round trip: what was read encodes again and reads the same.
	b, err := xml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var again plist
	if err := xml.Unmarshal(b, &again); err != nil || len(again.Dict.Items) != len(p.Dict.Items) {
		t.Errorf("round trip: %v, %d items, want %d", err, len(again.Dict.Items), len(p.Dict.Items))
	}
}

func TestStartupRefusesBadInput(t *testing.T) {
	o := startupOptions(t, "upstart")
	if _, _, err := startupUnit(o); err == nil || !strings.Contains(err.Error(), "unknown init system") {
		t.Errorf("unknown init system: %v", err)
	}
	o = startupOptions(t, "systemd")
	o.DBPath = "relative.sqlite"
	if _, _, err := startupUnit(o); err == nil {
		t.Error("a relative store path was accepted")
	}
}

// TestInstallWithoutSystemd: where systemd does not run, --install says so
// and writes nothing.
func TestInstallWithoutSystemd(t *testing.T) {
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		t.Skip("systemd runs here")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	o := startupOptions(t, "systemd")
	o.Install = true
	err := Startup(context.Background(), io.Discard, o)
	if !errors.Is(err, ErrNoInitSystem) || !strings.Contains(err.Error(), "systemd is not running on this machine") {
		t.Fatalf("Startup --install = %v", err)
	}
	_, path, _ := startupUnit(o)
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s was written", path)
	}
}
