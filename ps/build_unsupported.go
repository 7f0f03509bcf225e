//go:build !linux && !darwin && !windows

package ps

// bgrun is built for linux, darwin and windows only: it reads processes from
// /proc, ps(1) or CIM, and other systems are untested. Building for another
// GOOS stops here, at this one line, with the reason as the error:
//
//	undefined: bgrun_builds_only_for_linux_darwin_and_windows
var _ = bgrun_builds_only_for_linux_darwin_and_windows

// The declarations below keep the rest of the package compiling, so that the
// line above is the only error.

const ClockTicks = 100

func Snapshot() (Table, error)  { return Table{}, nil }
func Read(pid int) (Proc, bool) { return Proc{}, false }
func Cmdline(pid int) string    { return "" }
