// Package logs implements reading the log files of managed processes:
// `bgrun NAME --logs` and `bgrun logs NAME [-f]`.
//
// Tail reads the last lines of one file from its end, showSources prints one or
// both streams of a process the way the CLI shows them, and followAll prints
// what is appended afterwards, like `tail -F`.
package logs

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Source is one stream to show or follow.
type Source struct {
	// Label names the stream: "stdout" or "stderr". It appears in headers
	// and in the line prefixes of followAll when there is more than one source.
	Label string
	// Path is the log file of the stream.
	Path string
	// Marks are lines showSources adds at offsets of the file: where each run of
	// the process begins.
	Marks []Mark
}

// Markers that showSources prints instead of content. They are in parentheses so
// that they cannot be mistaken for a line the process wrote.
const (
	emptyMarker      = "(empty)"
	missingMarker    = "(no log file)"
	unreadableMarker = "(cannot read log file)"
)

// header returns the line showSources prints above a source when there are several.
// It follows the `==> file <==` form of `tail -v` because users already
// recognize and grep for it.
func header(s Source) string {
	return fmt.Sprintf("==> %s: %s <==\n", s.Label, s.Path)
}

// tail returns the last n lines of s, read across its rotated copies (see
// tailAcross), with its marks among the lines of the current file.
func (s Source) tail(n int) ([]byte, error) {
	all, err := TailRotated(s.Path, n)
	if err != nil || len(s.Marks) == 0 {
		return all, err
	}
	b, start, err := tailFrom(s.Path, n, firstBlock, maxBlock)
	if err != nil {
		return nil, err
	}
	var older []byte
	if len(all) > len(b) && string(all[len(all)-len(b):]) == string(b) {
		older = all[:len(all)-len(b)] // lines from the rotated copies
	}
	return append(older, withMarks(b, start, s.Marks)...), nil
}

// showSources writes the sources the way the CLI shows them: for each source a
// header line `==> stdout: /path <==`, then its last n lines (n <= 0: all)
// read across its rotated copies (see tailAcross),
// "(empty)" for an empty file and "(no log file)" for a missing one, with a
// blank line between sources.
//
// showSources writes one source without a header and without markers, exactly the
// bytes of its last n lines (and the lines of its marks, if any were given), so that `bgrun logs api --stdout | grep x` and
// `> copy.txt` see only what the process wrote. A missing file is then an
// error matching os.ErrNotExist (like `tail`), because there is no header
// under which to say so. An empty file writes nothing.
//
// With several sources, a file that cannot be read is marked in its section
// and the others are still shown; the errors are returned together.
func showSources(w io.Writer, srcs []Source, n int) error {
	if len(srcs) == 1 {
		b, err := srcs[0].tail(n)
		if err != nil {
			return fmt.Errorf("show %s log: %w", srcs[0].Label, err)
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("show %s log: write: %w", srcs[0].Label, err)
		}
		return nil
	}

	var errs []error
	for i, s := range srcs {
		var out []byte
		if i > 0 {
			out = append(out, '\n')
		}
		out = append(out, header(s)...)
		b, err := s.tail(n)
		switch {
		case errors.Is(err, os.ErrNotExist):
			out = append(out, missingMarker+"\n"...)
		case err != nil:
			out = append(out, unreadableMarker+"\n"...)
			errs = append(errs, fmt.Errorf("show %s log: %w", s.Label, err))
		case len(b) == 0:
			out = append(out, emptyMarker+"\n"...)
		default:
			out = append(out, b...)
			if b[len(b)-1] != '\n' {
				// The next header must start on its own line.
				out = append(out, '\n')
			}
		}
		if _, err := w.Write(out); err != nil {
			return fmt.Errorf("show %s log: write: %w", s.Label, err)
		}
	}
	return errors.Join(errs...)
}
