package logs

import "bgrun/store"

// streams returns the lister of `bgrun logs` for several processes: the
// stdout and/or stderr files of the records named in names (all when none),
// of group when it is not "", read from the store on every call, so that a
// follower sees processes started after it began. A named record that does
// not exist is an error on the first call.
func streams(db *store.DB, names []string, group string, stdout, stderr bool) func() ([]Stream, error) {
	first := true
	return func() ([]Stream, error) {
		var recs []store.Record
		if len(names) == 0 {
			all, err := db.List()
			if err != nil {
				return nil, err
			}
			recs = all
		}
		for _, n := range names {
			r, err := db.Get(n)
			if err != nil {
				if first {
					return nil, err
				}
				continue // deleted while followed
			}
			recs = append(recs, r)
		}
		first = false
		var out []Stream
		for _, r := range recs {
			if group != "" && r.Group != group {
				continue
			}
			if stdout || !stderr {
				out = append(out, Stream{Name: r.Name, Label: "stdout", Path: r.StdoutPath})
			}
			if (stderr || !stdout) && r.StderrPath != r.StdoutPath {
				out = append(out, Stream{Name: r.Name, Label: "stderr", Path: r.StderrPath})
			}
		}
		return out, nil
	}
}
