package ps

import "os"

// terminalWidth returns the columns of the terminal on f, ok false when f is
// not a character device. Windows consoles report no size here; 120 is used.
func terminalWidth(f *os.File) (int, bool) {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return 0, false
	}
	return 120, true
}
