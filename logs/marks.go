package logs

import "sort"

// Mark is a line shown at a byte offset of a log file without being in it:
// the separator between two runs of a process (`── restarted ... ──`). The
// log files hold only what the processes wrote; marks are added when they
// are shown.
type Mark struct {
	Offset int64  `json:"offset"` // where the run begins in the file
	Text   string `json:"text"`   // the line, without a newline
}

// withMarks returns b, read from offset start of a file, with the line of
// every mark whose offset falls in it (start <= Offset <= start+len(b))
// inserted before the byte at that offset. A mark always gets a line of its
// own, so a run that ended in the middle of a line does not glue the mark
// to it.
func withMarks(b []byte, start int64, marks []Mark) []byte {
	end := start + int64(len(b))
	var in []Mark
	for _, m := range marks {
		if m.Offset >= start && m.Offset <= end {
			in = append(in, m)
		}
	}
	if len(in) == 0 {
		return b
	}
	sort.SliceStable(in, func(i, j int) bool { return in[i].Offset < in[j].Offset })
	out := make([]byte, 0, len(b)+len(in)*64)
	last := int64(0)
	for _, m := range in {
		out = append(out, b[last:m.Offset-start]...)
		last = m.Offset - start
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, m.Text...)
		out = append(out, '\n')
	}
	return append(out, b[last:]...)
}

// MarksIn returns the marks that fall in the bytes from offset up to (not
// including) size of a log, for a reader that places them itself (the
// dashboard): a reader that goes on from size later gets a mark at size then,
// once, with the output that follows it.
func MarksIn(marks []Mark, offset, size int64) []Mark {
	out := []Mark{}
	for _, m := range marks {
		if m.Offset >= offset && m.Offset < size {
			out = append(out, m)
		}
	}
	return out
}
