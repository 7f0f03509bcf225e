package logs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// joinWindow is how much of the end of path.1 and of the start of the file
// reset searches first for the follower's place, which is often near the
// cut: a follower is rarely more than a poll behind.
const joinWindow = 256 << 10

// rotatedSlack is how much older than the last read a rotated copy may look
// and still be searched, since the follower may read between the copy and
// the cut of a rotation.
const rotatedSlack = 2 * time.Second

// reset handles a file that shrank or was rewritten under fl: if it was
// rotated, fl resumes where it was (see followAll), else it starts over at the
// beginning of the file.
func (fl *follower) reset(ctx context.Context, w io.Writer, cur *os.File, size int64) error {
	ok, err := fl.resume(ctx, w, cur, size)
	if err != nil || ok {
		return err
	}
	return fl.restart(w)
}

// resume looks for fl.last at the end of path.1 and the start of cur, then
// in the rest of cur up to the old offset, then in the rest of path.1.
// Found in cur, the offset moves there; found in path.1, what follows it there is
// written and the offset goes to the start of cur. The unfinished line of
// prefixed output is kept, since it goes on in the next bytes.
func (fl *follower) resume(ctx context.Context, w io.Writer, cur *os.File, size int64) (bool, error) {
	if len(fl.last) == 0 {
		return false, nil
	}
	rot := fl.openRotated()
	var rsize int64
	if rot != nil {
		defer rot.Close()
		if fi, err := rot.Stat(); err == nil {
			rsize = fi.Size()
		}
	}
	tailLen, headLen := min(rsize, joinWindow), min(size, joinWindow)
	buf := make([]byte, tailLen+headLen)
	if err := readFullAt(cur, buf[tailLen:], 0); err != nil {
		return false, nil
	}
	if tailLen > 0 {
		if err := readFullAt(rot, buf[:tailLen], rsize-tailLen); err != nil {
			return false, nil
		}
	}
	var end int64 = -1 // The end of fl.last in path.1, once found there.
	if i := bytes.LastIndex(buf, fl.last); i >= 0 {
		e := int64(i + len(fl.last))
		if e > tailLen {
			fl.off = e - tailLen
			return true, nil
		}
		end = rsize - tailLen + e
	} else {
		// Past the start of the file: a collapse-range rotation keeps up to
		// the cap there, and the place, if there, is no further than the
		// old offset.
		if limit := min(size, fl.off); limit > headLen {
			e, err := lastIndexIn(cur, limit, fl.last)
			if err != nil {
				return false, nil
			}
			if e >= 0 {
				fl.off = e
				return true, nil
			}
		}
		if rot != nil && rsize > tailLen {
			var err error
			if end, err = lastIndexIn(rot, rsize-tailLen+int64(len(fl.last)-1), fl.last); err != nil {
				return false, nil
			}
		}
	}
	if end < 0 && rot != nil && fl.rotatedSince(rot) {
		// The copy starts after the start of fl.last: it holds our place
		// when it begins with the end of fl.last (the rotation dropped
		// what came before, and the copy starts with a whole line); else
		// our place was dropped too (more than the cap was written since
		// the last read), and what the copy holds is the oldest output left.
		end = max(overlap(rot, rsize, fl.last), 0)
	}
	if end < 0 {
		return false, nil
	}
	chunk := make([]byte, min(rsize-end, readChunk))
	for off := end; off < rsize && ctx.Err() == nil; {
		b := chunk[:min(rsize-off, int64(len(chunk)))]
		if err := readFullAt(rot, b, off); err != nil {
			break
		}
		if err := fl.emit(w, b); err != nil {
			return true, err
		}
		off += int64(len(b))
	}
	fl.off, fl.last = 0, fl.last[:0]
	return true, nil
}

// overlap returns the length of the longest end of last that f (size bytes)
// begins with, or -1 when there is none.
func overlap(f *os.File, size int64, last []byte) int64 {
	head := make([]byte, min(size, int64(len(last))))
	if readFullAt(f, head, 0) != nil {
		return -1
	}
	for k := len(head); k > 0; k-- {
		if bytes.Equal(head[:k], last[len(last)-k:]) {
			return int64(k)
		}
	}
	return -1
}

// openRotated opens path.1 when it is a regular file written since about
// the last read of fl, or returns nil.
func (fl *follower) openRotated() *os.File {
	p := RotatedPath(fl.src.Path, 1)
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() || st.ModTime().Before(fl.mtime.Add(-rotatedSlack)) {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	return f
}

// lastIndexIn returns the offset just past the last occurrence of pat in the
// first limit bytes of f, or -1, reading backwards in chunks.
func lastIndexIn(f *os.File, limit int64, pat []byte) (int64, error) {
	buf := make([]byte, readChunk+len(pat))
	for end := limit; end >= int64(len(pat)); {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if err := readFullAt(f, b, start); err != nil {
			if errors.Is(err, errShrank) {
				return -1, nil
			}
			return -1, err
		}
		if i := bytes.LastIndex(b, pat); i >= 0 {
			return start + int64(i+len(pat)), nil
		}
		if start == 0 {
			break
		}
		end = start + int64(len(pat)-1)
	}
	return -1, nil
}

// rotatedSince reports whether the rotated copy f was written after the last
// read of fl, so that it holds output fl has not seen.
func (fl *follower) rotatedSince(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.ModTime().After(fl.mtime)
}
