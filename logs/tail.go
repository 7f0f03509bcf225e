package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// firstBlock is how much Tail reads first from the end of a file: enough
// for the last screenful of a typical log (50 lines of ~100 bytes) in one
// read, and small enough that such a tail of a huge file touches a few pages.
const firstBlock = 8 << 10

// maxBlock caps the block size, which doubles at each step back so that a
// long tail (--lines 100000) takes few reads while memory per read stays
// bounded.
const maxBlock = 1 << 20

// maxTailAttempts bounds how often Tail starts over when the file shrinks
// under it, because a restart that rewrites the log may race with a reader.
const maxTailAttempts = 3

// errShrank reports that the file became shorter while Tail was reading it.
var errShrank = errors.New("file shrank while reading")

// Tail returns the last n lines of the file at path (n <= 0: the whole file),
// reading backwards from the end in blocks so that a 1 GB file costs the same
// as a 1 KB one. A final line without a newline counts as a line; the
// trailing newline does not make an extra empty line. Lines may be \n or
// \r\n: the bytes are returned exactly as stored, so \r\n stays \r\n. A
// missing file returns an error matching os.ErrNotExist.
func Tail(path string, n int) ([]byte, error) {
	b, _, err := tailFrom(path, n, firstBlock, maxBlock)
	return b, err
}

// tailFrom is tail that also returns the file offset of the first byte
// returned, so that marks given by offset can be placed in the text.
func tailFrom(path string, n, block, limit int) ([]byte, int64, error) {
	if block <= 0 {
		block = firstBlock
	}
	limit = max(block, limit)
	// Stat before opening, because opening a FIFO for reading blocks until a
	// writer appears, and a log path that is not a regular file is a mistake
	// better reported than waited on.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("tail log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("tail log %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("tail log: %w", err)
	}
	defer f.Close()

	if n <= 0 {
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, 0, fmt.Errorf("tail log %s: %w", path, err)
		}
		return b, 0, nil
	}
	for attempt := 1; ; attempt++ {
		b, from, err := tailOpen(f, n, block, limit)
		if errors.Is(err, errShrank) && attempt < maxTailAttempts {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("tail log %s: %w", path, err)
		}
		return b, from, nil
	}
}

// chunk is one block read by tailOpen, with the file offset it came from.
type chunk struct {
	off int64
	b   []byte
}

// tailOpen finds the last n lines (n > 0) of the open file f by reading
// blocks backwards from the size the file has now, so that data appended
// meanwhile is ignored rather than returned half-written. The blocks start
// at block bytes and double up to limit.
func tailOpen(f *os.File, n, block, limit int) ([]byte, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := fi.Size()
	if size == 0 {
		return []byte{}, size, nil
	}

	var chunks []chunk
	start := int64(-1) // The offset of the first byte of the result, once known.
	seen := 0
	end := size
	for end > 0 && start < 0 {
		off := max(end-int64(block), 0)
		buf := make([]byte, end-off)
		if err := readFullAt(f, buf, off); err != nil {
			return nil, 0, err
		}
		scan := buf
		if end == size && buf[len(buf)-1] == '\n' {
			// The final newline ends the last line; it does not begin an
			// empty one.
			scan = buf[:len(buf)-1]
		}
		for {
			i := bytes.LastIndexByte(scan, '\n')
			if i < 0 {
				break
			}
			seen++
			if seen == n {
				start = off + int64(i) + 1
				break
			}
			scan = scan[:i]
		}
		chunks = append(chunks, chunk{off: off, b: buf})
		end = off
		block = min(2*block, limit)
	}
	if start < 0 {
		start = 0
	}

	out := make([]byte, 0, size-start)
	for i := len(chunks) - 1; i >= 0; i-- {
		c := chunks[i]
		b := c.b
		if c.off < start {
			b = b[start-c.off:]
		}
		out = append(out, b...)
	}
	return out, start, nil
}

// readFullAt fills buf from offset off, and reports errShrank when the file
// ends before buf is full, because that means it was truncated mid-read.
func readFullAt(f *os.File, buf []byte, off int64) error {
	n, err := f.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return errShrank
	}
	return err
}
