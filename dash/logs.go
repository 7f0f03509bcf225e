package dash

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"bgrun/logs"
)

// logWindow is the most of a log one request returns: the first read of a
// big log, or a reader that fell far behind, gets its last logWindow bytes.
const logWindow = 256 << 10

// logChunk is the answer of GET /api/logs/{name}: Text holds the bytes from
// Offset to Size; MTime is nil when the file does not exist.
type logChunk struct {
	Text   string     `json:"text"`
	Size   int64      `json:"size"`
	Offset int64      `json:"offset"`
	MTime  *time.Time `json:"mtime"`
	Path   string     `json:"path"`
	// Marks are the separators between runs that fall in the text, by
	// offset in the file; the drawer shows them as lines of their own.
	Marks []logs.Mark `json:"marks"`
}

// readLog reads path from offset to its current end. When that is more than
// window bytes (a first read of a big log, or a reader far behind), it reads
// only the last window bytes, from the first line that starts in them, and
// says so in Offset: a 1 GB log is never read whole. An offset past the end
// (the file was truncated) returns no text and that offset, so the reader
// sees Size < Offset and starts over.
func readLog(path string, offset, window int64) (logChunk, error) {
	c := logChunk{Path: path, Offset: offset}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.Offset = 0
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return c, fmt.Errorf("read log: %w", err)
	}
	mt := fi.ModTime().UTC()
	c.Size, c.MTime = fi.Size(), &mt
	if offset >= c.Size {
		return c, nil
	}
	start, trim := offset, false
	if c.Size-offset > window {
		// One byte more, from before the window: if it is a newline, the
		// window starts on a line boundary already.
		start, trim = c.Size-window-1, true
	}
	// Read up to the size seen: the file may grow meanwhile, and Size and
	// Text must agree for the next offset to be right.
	buf := make([]byte, c.Size-start)
	n, err := f.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("read log: %w", err)
	}
	buf = buf[:n]
	c.Size = start + int64(n)
	if trim && len(buf) > 0 {
		cut := 1 // the extra byte, when no line starts in the window
		if i := bytes.IndexByte(buf, '\n'); i >= 0 && i+1 < len(buf) {
			cut = i + 1
		}
		buf, start = buf[cut:], start+int64(cut)
	}
	c.Offset, c.Text = start, string(buf)
	return c, nil
}
