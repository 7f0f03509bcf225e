package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"bgrun/store"
)

// catchUpRounds bounds how often a copy-and-truncate rotation copies what the
// process appended while the previous copy ran, so that a process writing
// faster than the disk copies cannot keep a rotation going for ever.
const catchUpRounds = 4

// lineSearch is how far into a dropped range Rotate looks for a newline, so
// that a rotated copy that lost its beginning starts with a whole line.
const lineSearch = 64 << 10

// RotatedPath returns the name of the i-th rotated copy of the log at path:
// path.1 is the newest, path.N the oldest.
func RotatedPath(path string, i int) string { return path + "." + strconv.Itoa(i) }

// Rotate keeps the log at path under maxSize bytes. When the file is larger,
// its content moves to path.1 (path.1 to path.2, and so on; path.keep is
// dropped) and the file itself is emptied or cut in place, as logrotate's
// copytruncate: the process keeps its file descriptor and, writing with
// O_APPEND as bgrun opens its logs, goes on at the new end of the file. A
// maxSize <= 0 turns rotation off; keep < 1 keeps no copy (the file is only
// emptied). Rotate reports whether it rotated.
//
// A rotated copy holds at most maxSize bytes, the last ones before the cut
// from the first line that starts in them, so a process that writes faster
// than the checks still holds at most (keep+1) × maxSize bytes on disk (plus
// what it writes between two checks, and a file system block).
//
// Nothing written is lost at the cut, between the copy and the file: on
// Linux, where the file system can (ext4, xfs, and overlayfs over them),
// the copied range is cut from the front of the file with
// fallocate(FALLOC_FL_COLLAPSE_RANGE), which the kernel serializes with the
// process's appends. The cut falls on a block boundary at maxSize when the
// file holds less than twice that, so a file found just past its cap loses
// nothing (the file keeps its last bytes past the cut), and maxSize before
// the end otherwise, so the file keeps at most maxSize and only bytes before
// the copy, beyond what the cap allows, are dropped.
//
// Elsewhere (tmpfs, btrfs, macOS, Windows) Rotate copies the last maxSize
// bytes, copies again what was appended meanwhile (a few rounds) and then
// truncates the file (the copy then ends at its last whole line): a write
// that lands between the last size check and the truncate, a window of two
// system calls, is lost, as with logrotate's
// copytruncate, and the bytes past the cap at the check (at most what the
// process wrote since the previous check) are dropped from the front of the
// copy.
//
// Two bgrun commands that rotate the same file at once do not both rotate
// it: an advisory lock on the log (Unix) lets one go and makes the other
// return at once. A path that is missing or not a regular file is never
// rotated.
func Rotate(path string, maxSize int64, keep int) (rotated bool, err error) {
	if maxSize <= 0 {
		return false, nil
	}
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rotate log: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() <= maxSize {
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("rotate log: %w", err)
	}
	defer f.Close()
	locked, err := store.FlockFile(f, false, false)
	if err != nil || !locked {
		// Another bgrun rotates it right now.
		return false, nil
	}
	defer store.Funlock(f)
	// Stat again under the lock: another rotation may have just emptied it.
	st, err = f.Stat()
	if err != nil {
		return false, fmt.Errorf("rotate log %s: %w", path, err)
	}
	if !st.Mode().IsRegular() || st.Size() <= maxSize {
		return false, nil
	}
	// A database is never a log, whatever name it is reached by (a hard
	// link, a folder swapped for a link to a store's).
	var head [16]byte
	if n, _ := f.ReadAt(head[:], 0); store.HasDatabaseHeader(head[:n]) {
		return false, fmt.Errorf("rotate log %s: it is a database, not a log: left alone", path)
	}
	if err := shift(path, keep); err != nil {
		return false, err
	}
	var dst *os.File
	if keep >= 1 {
		// Created anew (O_EXCL): never through a link someone put at
		// path.1, nor over a file that shift could not move away.
		one := RotatedPath(path, 1)
		dst, err = os.OpenFile(one, os.O_RDWR|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
		if errors.Is(err, fs.ErrExist) {
			return false, fmt.Errorf("rotate log %s: %s is in the way (not a copy bgrun can replace): left alone", path, one)
		}
		if err != nil {
			return false, fmt.Errorf("rotate log: %w", err)
		}
		defer dst.Close()
	}
	if !tryCollapse {
		err = errNoCollapse
	} else {
		err = rotateCollapse(f, dst, maxSize)
	}
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, errNoCollapse) {
		return false, fmt.Errorf("rotate log %s: %w", path, err)
	}
	if err := rotateTruncate(f, dst, maxSize); err != nil {
		return false, fmt.Errorf("rotate log %s: %w", path, err)
	}
	return true, nil
}

// errNoCollapse reports that the file system cannot cut a range from the
// front of a file, so Rotate falls back to copy-and-truncate.
var errNoCollapse = errors.New("collapse range not supported")

// tryCollapse is false in tests of the copy-and-truncate fallback.
var tryCollapse = true

// shift renames path.i to path.i+1 for i = keep-1 … 1, dropping path.keep,
// so that path.1 is free for the new copy.
func shift(path string, keep int) error {
	if keep < 1 {
		return nil
	}
	last := RotatedPath(path, keep)
	if st, err := os.Lstat(last); err == nil && st.Mode().IsRegular() {
		if err := os.Remove(last); err != nil {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	for i := keep - 1; i >= 1; i-- {
		from := RotatedPath(path, i)
		st, err := os.Lstat(from)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rotate log: %w", err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("rotate log: %s is not a regular file", from)
		}
		if err := os.Rename(from, RotatedPath(path, i+1)); err != nil {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	return nil
}

// rotateTruncate copies the last maxSize bytes of src to dst (nil: none),
// catching up with what is appended meanwhile, then empties src.
func rotateTruncate(src, dst *os.File, maxSize int64) error {
	st, err := src.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	lo := max(0, end-maxSize)
	if dst != nil {
		if lo, err = lineStart(src, lo, end); err != nil {
			return err
		}
		if err := copyRange(dst, src, lo, end); err != nil {
			return err
		}
		for range catchUpRounds {
			st, err := src.Stat()
			if err != nil {
				return err
			}
			if st.Size() <= end {
				break
			}
			if err := copyRange(dst, src, end, st.Size()); err != nil {
				return err
			}
			end = st.Size()
		}
	}
	if err := src.Truncate(0); err != nil {
		return err
	}
	if dst == nil {
		return nil
	}
	// The copy may have read a write half done, whose rest the truncate
	// dropped: the copy ends at its last whole line.
	if err := trimToLine(dst); err != nil {
		return err
	}
	// The rounds may have made the copy larger than maxSize: keep its end.
	st, err = dst.Stat()
	if err != nil || st.Size() <= maxSize {
		return err
	}
	from, err := lineStart(dst, st.Size()-maxSize, st.Size())
	if err != nil {
		return err
	}
	return shiftDown(dst, from, st.Size())
}

// trimToLine cuts f after its last newline, looking at most lineSearch
// bytes back; a file whose end holds no newline that near is left whole.
func trimToLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	n := min(lineSearch, st.Size())
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, st.Size()-n); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	i := bytes.LastIndexByte(buf, '\n')
	if i < 0 || int64(i) == n-1 {
		return nil
	}
	return f.Truncate(st.Size() - n + int64(i) + 1)
}

// lineStart returns where the first whole line at or after lo begins in f,
// looking at most lineSearch bytes ahead; lo itself when it is 0, when a
// line starts there, or when no newline is near. Bytes before the returned
// offset are dropped from a rotated copy, which then starts with a line.
func lineStart(f *os.File, lo, end int64) (int64, error) {
	if lo == 0 {
		return 0, nil
	}
	buf := make([]byte, min(lineSearch, end-lo+1))
	n, err := f.ReadAt(buf, lo-1)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	i := bytes.IndexByte(buf[:n], '\n')
	if i < 0 || lo-1+int64(i)+1 >= end {
		return lo, nil
	}
	return lo - 1 + int64(i) + 1, nil
}

// copyRange appends bytes [from, to) of src to dst. Through io.CopyN from a
// file, Go uses copy_file_range on Linux: the bytes do not pass through
// bgrun's memory.
func copyRange(dst, src *os.File, from, to int64) error {
	if to <= from {
		return nil
	}
	if _, err := src.Seek(from, io.SeekStart); err != nil {
		return err
	}
	if _, err := dst.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	n, err := io.CopyN(dst, src, to-from)
	if errors.Is(err, io.EOF) {
		// The file was truncated under us by someone else: keep what was read.
		return nil
	}
	if err != nil {
		return fmt.Errorf("copy %d bytes: %w", to-from-n, err)
	}
	return nil
}

// shiftDown moves bytes [from, size) of f to its start and cuts the rest.
// Reading always runs ahead of writing, so chunks never overlap wrongly.
func shiftDown(f *os.File, from, size int64) error {
	buf := make([]byte, readChunk)
	var w int64
	for r := from; r < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-r)], r)
		if n > 0 {
			if _, werr := f.WriteAt(buf[:n], w); werr != nil {
				return werr
			}
			r += int64(n)
			w += int64(n)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if n == 0 {
			break
		}
	}
	return f.Truncate(w)
}

// maxRotated bounds how many rotated copies tailAcross reads when asked
// for the whole log, whatever --log-keep was.
const maxRotated = 100

// tailAcross is Tail over the log at path and its rotated copies, read as
// one stream (path.N … path.1, path): when the file has fewer than n lines,
// the rest come from path.1, then path.2, and so on. A line cut in two by a
// rotation is whole again. n <= 0 returns every copy and the file, oldest
// first. A missing path is an error matching os.ErrNotExist, as for Tail; a
// missing copy ends the stream.
//
// A rotation while tailAcross reads would mix the copies of before and
// after it, so tailAcross reads again (up to 3 times) when path.1 changed
// meanwhile.
func TailRotated(path string, n int) ([]byte, error) {
	var b []byte
	var err error
	for range maxTailAttempts {
		before, _ := os.Stat(RotatedPath(path, 1))
		b, err = tailRotated(path, n)
		after, _ := os.Stat(RotatedPath(path, 1))
		if err != nil || sameFile(before, after) {
			break
		}
	}
	return b, err
}

// sameFile reports whether two stats of a path show the same unchanged file,
// or both no file.
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// tailRotated is one read of tailAcross.
func tailRotated(path string, n int) ([]byte, error) {
	// One line more than asked: while the stream read so far has at most n
	// lines it is whole, and its first line may go on in the older copy.
	want := n + 1
	if n <= 0 {
		want = 0
	}
	b, err := Tail(path, want)
	if err != nil {
		return nil, err
	}
	for i := 1; i <= maxRotated && (n <= 0 || countLines(b) <= n); i++ {
		older, err := Tail(RotatedPath(path, i), want)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, err
		}
		b = append(older, b...)
	}
	if n > 0 {
		b = lastLines(b, n)
	}
	return b, nil
}

// countLines counts the lines of b, a final line without a newline included.
func countLines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// lastLines returns the last n (> 0) lines of b, counted as Tail does.
func lastLines(b []byte, n int) []byte {
	scan := b
	if len(scan) > 0 && scan[len(scan)-1] == '\n' {
		scan = scan[:len(scan)-1]
	}
	for seen := 0; ; {
		i := bytes.LastIndexByte(scan, '\n')
		if i < 0 {
			return b
		}
		seen++
		if seen == n {
			return b[i+1:]
		}
		scan = scan[:i]
	}
}
