package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"bgrun/store"
)

// pollInterval is how often followAll looks at the files. Polling keeps followAll
// portable (no inotify, kqueue or ReadDirectoryChangesW) and costs one stat
// per source per tick when nothing changed.
const pollInterval = 150 * time.Millisecond

// readChunk is how much followAll reads at once, so that a burst of output
// between two polls is copied in bounded memory.
const readChunk = 64 << 10

// keepTail is how many bytes before the read offset followAll remembers, to
// notice a file that was truncated and rewritten past the old offset
// between two polls, which its size alone cannot show, and to find its
// place again after a rotation. 1 KB spans several lines of a typical log,
// so that lines that end alike (a long constant suffix) still tell one
// place from another; it costs one 1 KB read per poll that saw a change.
const keepTail = 1 << 10

// maxPending bounds a line that has not ended yet when several sources are
// followed. A longer line is written in pieces, because holding output back
// without limit would hide it and grow memory.
const maxPending = 1 << 20

// followAll prints new lines appended to the sources until ctx is done, like
// `tail -F`: it starts at the current end of each file (show has printed the
// last lines already), polls every 150 ms, starts over at the beginning
// when a file is truncated or replaced (a restart that rewrites it), and
// waits for a file that does not exist yet, reading it from its start once
// it appears.
//
// With one source, followAll copies the bytes as they come, partial lines
// included, so that a prompt without a newline shows up at once. With more
// than one, each line is prefixed by its label (`stdout | `, `stderr | `)
// and written whole, so lines of different sources never interleave
// mid-line; an unfinished line is held until its newline arrives, or
// written with a newline added when ctx is done.
//
// A rotation (see Rotate) is followed across: when the file shrank or its
// bytes before the offset changed, followAll looks for the last bytes it
// printed at the end of path.1 and the start of the file, prints what
// path.1 holds after them and goes on in the file, so that no line is lost
// or printed twice. It finds its place by the last 1 KB it printed: in a log
// that repeats the same 1 KB it may skip some of those identical lines, and
// after more than one rotation between two polls (a process writing faster
// than 2 × --log-max-size per 150 ms) it starts again at the start of the
// file.
//
// followAll returns nil when ctx is done, because that is how following
// normally ends (Ctrl-C), and an error when writing fails or a file cannot
// be read for a reason other than not existing.
func Follow(ctx context.Context, w io.Writer, srcs []Source) error {
	return follow(ctx, w, srcs, nil)
}

// follow is followAll with a hook that is called once every file has its
// starting offset, so that tests know when an append will be seen as new
// rather than as part of the content before followAll started.
func follow(ctx context.Context, w io.Writer, srcs []Source, ready func()) error {
	if len(srcs) == 0 {
		return errors.New("follow logs: no log files given")
	}
	width := 0
	for _, s := range srcs {
		width = max(width, len(s.Label))
	}
	fls := make([]*follower, len(srcs))
	for i, s := range srcs {
		fl := &follower{src: s}
		if len(srcs) > 1 {
			fl.prefix = fmt.Appendf(nil, "%-*s | ", width, s.Label)
		}
		if err := fl.start(); err != nil {
			return err
		}
		fls[i] = fl
	}

	if ready != nil {
		ready()
	}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			for _, fl := range fls {
				if err := fl.flush(w); err != nil {
					return err
				}
			}
			return nil
		case <-ticker.C:
		}
		for _, fl := range fls {
			if err := fl.poll(ctx, w); err != nil {
				return err
			}
		}
	}
}

// follower is the state of one followed file between polls.
type follower struct {
	src    Source
	prefix []byte // Nil when followAll has a single source and copies raw bytes.

	// id identifies the file being read, taken from the open file so that
	// it is exact on every platform; nil until the file is first seen.
	id os.FileInfo
	// gone records that the path vanished, so that whatever appears there
	// next is read from its start even if it reuses the old inode.
	gone bool
	// mtime is the modification time of the file when it was last read.
	// Appending always grows a file, so a new mtime at the same size means
	// the file was rewritten in place, which the size alone cannot show.
	mtime   time.Time
	off     int64  // The next byte to read.
	last    []byte // Up to keepTail bytes just before off.
	pending []byte // An unfinished line, when lines are prefixed.
}

// start positions fl at the current end of its file, or at offset 0 when
// the file does not exist yet.
func (fl *follower) start() error {
	f, fi, err := fl.open()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fl.id, fl.mtime = fi, fi.ModTime()
	fl.off = fi.Size()
	fl.last = make([]byte, min(fl.off, keepTail))
	err = readFullAt(f, fl.last, fl.off-int64(len(fl.last)))
	if errors.Is(err, errShrank) {
		// Truncated since the stat: what is there now is new.
		fl.off, fl.last = 0, nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("follow %s log: %w", fl.src.Label, err)
	}
	return nil
}

// open opens the file of fl and returns it with its identity. It refuses
// anything but a regular file, because opening a FIFO would block followAll.
func (fl *follower) open() (*os.File, os.FileInfo, error) {
	st, err := os.Stat(fl.src.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("follow %s log: %w", fl.src.Label, err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("follow %s log: %s is not a regular file", fl.src.Label, fl.src.Path)
	}
	f, err := os.Open(fl.src.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("follow %s log: %w", fl.src.Label, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("follow %s log: %w", fl.src.Label, err)
	}
	return f, fi, nil
}

// poll writes whatever was appended to the file of fl since the last poll.
// It stops early when ctx is done, so that a large backlog does not delay
// the end of followAll; the rest would be read by the next poll.
func (fl *follower) poll(ctx context.Context, w io.Writer) error {
	// The cheap check first: one stat when nothing changed.
	st, err := os.Stat(fl.src.Path)
	if errors.Is(err, os.ErrNotExist) {
		fl.gone = fl.id != nil
		return nil
	}
	if err == nil && !fl.gone && fl.id != nil && st.Size() == fl.off && st.ModTime().Equal(fl.mtime) && os.SameFile(fl.id, st) {
		return nil
	}

	f, _, err := fl.open()
	if errors.Is(err, os.ErrNotExist) {
		fl.gone = fl.id != nil
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	// Hold off rotations (which take this lock exclusively, and skip the
	// file when they cannot) while finding the place and reading: a cut in
	// the middle of the search would make the place look lost and repeat
	// output.
	store.FlockFile(f, true, true)
	defer store.Funlock(f)
	fi, err := f.Stat()
	if err != nil {
		return err
	}

	if fl.gone || fl.id == nil || !os.SameFile(fl.id, fi) {
		if err := fl.restart(w); err != nil {
			return err
		}
		fl.id, fl.gone = fi, false
	}
	size := fi.Size()
	if size < fl.off {
		if err := fl.reset(ctx, w, f, size); err != nil {
			return err
		}
	}
	if len(fl.last) > 0 {
		// After a rotation the place may be nearer the start of the file
		// than the bytes remembered before it (they straddled the rotated
		// copy and the file): compare what the file holds of them.
		n := min(int64(len(fl.last)), fl.off)
		b := make([]byte, n)
		err := readFullAt(f, b, fl.off-n)
		if err != nil && !errors.Is(err, errShrank) {
			return fmt.Errorf("follow %s log: %w", fl.src.Label, err)
		}
		if err != nil || !bytes.Equal(b, fl.last[int64(len(fl.last))-n:]) {
			// The bytes before the offset changed: the file was rotated or
			// rewritten.
			if err := fl.reset(ctx, w, f, size); err != nil {
				return err
			}
		}
	}
	fl.mtime = fi.ModTime()
	if size == fl.off {
		return nil
	}

	buf := make([]byte, min(size-fl.off, readChunk))
	for fl.off < size && ctx.Err() == nil {
		b := buf[:min(size-fl.off, int64(len(buf)))]
		err := readFullAt(f, b, fl.off)
		if errors.Is(err, errShrank) {
			// Truncated while reading: the next poll starts over.
			return nil
		}
		if err != nil {
			return fmt.Errorf("follow %s log: %w", fl.src.Label, err)
		}
		if err := fl.emit(w, b); err != nil {
			return err
		}
		fl.off += int64(len(b))
		fl.remember(b)
	}
	return nil
}

// remember keeps the last keepTail bytes read, b being the latest read.
func (fl *follower) remember(b []byte) {
	if len(b) >= keepTail {
		fl.last = append(fl.last[:0], b[len(b)-keepTail:]...)
		return
	}
	fl.last = append(fl.last, b...)
	if len(fl.last) > keepTail {
		fl.last = append(fl.last[:0], fl.last[len(fl.last)-keepTail:]...)
	}
}

// restart makes fl read its file again from the start, after writing out
// the unfinished line of the old content, which will never be completed.
func (fl *follower) restart(w io.Writer) error {
	fl.off, fl.last = 0, fl.last[:0]
	return fl.flush(w)
}

// emit writes b, read from the file of fl: as is with a single source, or
// as whole prefixed lines, holding back an unfinished last line.
func (fl *follower) emit(w io.Writer, b []byte) error {
	if fl.prefix == nil {
		return fl.write(w, b)
	}
	fl.pending = append(fl.pending, b...)
	i := bytes.LastIndexByte(fl.pending, '\n')
	if i < 0 {
		if len(fl.pending) >= maxPending {
			return fl.flush(w)
		}
		return nil
	}
	done := fl.pending[:i+1]
	var out []byte
	for len(done) > 0 {
		j := bytes.IndexByte(done, '\n')
		out = append(out, fl.prefix...)
		out = append(out, done[:j+1]...)
		done = done[j+1:]
	}
	fl.pending = append(fl.pending[:0], fl.pending[i+1:]...)
	return fl.write(w, out)
}

// flush writes the unfinished line of fl, if any, as a whole line.
func (fl *follower) flush(w io.Writer) error {
	if len(fl.pending) == 0 {
		return nil
	}
	out := make([]byte, 0, len(fl.prefix)+len(fl.pending)+1)
	out = append(out, fl.prefix...)
	out = append(out, fl.pending...)
	out = append(out, '\n')
	fl.pending = fl.pending[:0]
	return fl.write(w, out)
}

// write writes b to w in one call, so that a whole line reaches w at once.
func (fl *follower) write(w io.Writer, b []byte) error {
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("follow %s log: write: %w", fl.src.Label, err)
	}
	return nil
}
