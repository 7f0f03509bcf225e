package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"sort"
	"time"
)

// Stream is one log file of one process, for showStreams.
type Stream struct {
	Name  string // the process
	Label string // "stdout" or "stderr"
	Path  string
}

// AllOptions tune showStreams.
type AllOptions struct {
	// Lines is how many last lines of each file to show first; 0 for none.
	Lines int
	// Follow keeps printing what is appended, until ctx is done.
	Follow bool
	// Color colours each name (a terminal without NO_COLOR).
	Color bool
	// List returns the streams to show. While following it is called again every
	// relistEvery, so that processes started later are followed too.
	List func() ([]Stream, error)
}

// relistEvery is how often showStreams asks for the list of streams while following.
const relistEvery = time.Second

// colors are the ANSI colours names get, picked by a hash of the name so
// that a process keeps its colour from one run of bgrun to the next.
var colors = []string{"\x1b[36m", "\x1b[33m", "\x1b[32m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[93m", "\x1b[92m"}

// showStreams is `bgrun logs` of several processes: the last Lines lines of every
// stream, each line prefixed by its process's name (padded, and coloured
// with Color), the files in the order they were last written, so that the
// most recent output ends up last. With Follow it then prints every line
// appended to any of them, including the streams of processes that appear
// later, across restarts, rotations and truncations, like `tail -F`.
// stderr lines are labelled NAME(err).
func showStreams(ctx context.Context, w io.Writer, o AllOptions) error {
	// A stream whose file changed after this moment holds output of a
	// process started meanwhile, shown from its start.
	since := time.Now()
	streams, err := o.List()
	if err != nil {
		return err
	}
	width := labelWidth(streams)
	if o.Lines > 0 {
		if err := showAll(w, streams, o, width); err != nil {
			return err
		}
	}
	if !o.Follow {
		return nil
	}
	return followAll(ctx, w, o, streams, since)
}

func label(s Stream) string {
	if s.Label == "stderr" {
		return s.Name + "(err)"
	}
	return s.Name
}

func labelWidth(streams []Stream) int {
	n := 0
	for _, s := range streams {
		n = max(n, len(label(s)))
	}
	return n
}

// prefix is what starts each line of s.
func prefix(s Stream, width int, color bool) []byte {
	l := fmt.Sprintf("%-*s", width, label(s))
	if color {
		h := fnv.New32a()
		h.Write([]byte(s.Name))
		l = colors[h.Sum32()%uint32(len(colors))] + l + "\x1b[0m"
	}
	return []byte(l + " | ")
}

// showAll prints the last lines of every stream, oldest file first.
func showAll(w io.Writer, streams []Stream, o AllOptions, width int) error {
	type block struct {
		s     Stream
		mtime time.Time
		b     []byte
	}
	var blocks []block
	var errs []error
	for _, s := range streams {
		fi, err := os.Stat(s.Path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b, err := Tail(s.Path, o.Lines)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s log: %w", s.Name, s.Label, err))
			continue
		}
		if len(b) > 0 {
			blocks = append(blocks, block{s, fi.ModTime(), b})
		}
	}
	sort.SliceStable(blocks, func(i, j int) bool { return blocks[i].mtime.Before(blocks[j].mtime) })
	for _, bl := range blocks {
		p := prefix(bl.s, width, o.Color)
		var out []byte
		for _, line := range bytes.SplitAfter(bl.b, []byte{'\n'}) {
			if len(line) == 0 {
				continue
			}
			out = append(append(out, p...), line...)
			if line[len(line)-1] != '\n' {
				out = append(out, '\n')
			}
		}
		if _, err := w.Write(out); err != nil {
			return fmt.Errorf("show logs: write: %w", err)
		}
	}
	return errors.Join(errs...)
}

func streamKey(s Stream) string { return s.Name + "\x00" + s.Label }

// followAll follows every stream, listing them again every relistEvery.
func followAll(ctx context.Context, w io.Writer, o AllOptions, streams []Stream, since time.Time) error {
	fls := map[string]*follower{}
	var order []string // keys in the order of the list, for a stable output
	add := func(s Stream, initial bool) error {
		fl := &follower{src: Source{Label: s.Label, Path: s.Path}}
		fi, err := os.Stat(s.Path)
		// A file written before following began holds old output: start at
		// its end. One that appeared or changed since is a process started
		// meanwhile: read it from the start.
		if initial || (err == nil && fi.ModTime().Before(since)) {
			if err := fl.start(); err != nil {
				return err
			}
		}
		fls[streamKey(s)] = fl
		return nil
	}
	relabel := func(streams []Stream) {
		width := labelWidth(streams)
		order = order[:0]
		for _, s := range streams {
			k := streamKey(s)
			fls[k].prefix = prefix(s, width, o.Color)
			order = append(order, k)
		}
	}
	for _, s := range streams {
		if err := add(s, true); err != nil {
			return err
		}
	}
	relabel(streams)
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	relist := time.Now().Add(relistEvery)
	for {
		select {
		case <-ctx.Done():
			for _, k := range order {
				if err := fls[k].flush(w); err != nil {
					return err
				}
			}
			return nil
		case <-ticker.C:
		}
		if time.Now().After(relist) {
			relist = time.Now().Add(relistEvery)
			if now, err := o.List(); err == nil {
				seen := map[string]bool{}
				for _, s := range now {
					k := streamKey(s)
					seen[k] = true
					if fl, ok := fls[k]; ok && fl.src.Path == s.Path {
						continue
					}
					if err := add(s, false); err != nil {
						return err
					}
				}
				for k, fl := range fls {
					if !seen[k] {
						fl.poll(ctx, w) // what it wrote last
						fl.flush(w)
						delete(fls, k)
					}
				}
				relabel(now)
			}
		}
		for _, k := range order {
			if err := fls[k].poll(ctx, w); err != nil {
				return err
			}
		}
	}
}
