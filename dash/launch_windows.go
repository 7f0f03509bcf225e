//go:build windows

package dash

// execPrefix is empty: cmd /c has no exec.
const execPrefix = ""
