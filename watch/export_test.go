package watch

import "fmt"

// What only the tests use of the poller.

// String returns the lower-case name of the operation, for logs.
func (o op) String() string {
	switch o {
	case created:
		return "created"
	case modified:
		return "modified"
	case deleted:
		return "deleted"
	case renamed:
		return "renamed"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Rescan brings s up to date with the tree, in place, and returns what changed since s
// was taken or last rescanned, sorted by path. It lists only the directories whose stamp
// changed and lstats each file once, comparing with the entry already in s, so an
// unchanged tree costs one lstat per path and almost no allocation. If the root has
// gone, every path in it is reported deleted, and a root that comes back is picked up by
// a later Rescan. Use the poller that took s: s caches its ignore decisions.
func (p *poller) Rescan(s *snapshot) []Change {
	sc := p.newScanner(s)
	sc.report, sc.full = true, true
	return finish(sc.pass())
}

// Files returns every path in the snapshot with its entry, keyed by the slash-separated
// path relative to the root. Ignored paths are not in a snapshot.
func (s *snapshot) Files() map[string]entry {
	m := make(map[string]entry)
	var add func(ds *dirState)
	add = func(ds *dirState) {
		for _, k := range ds.kids {
			if !k.present || k.ignored {
				continue
			}
			m[k.rel] = k.entry
			if k.sub != nil {
				add(k.sub)
			}
		}
	}
	add(&s.top)
	return m
}

// Diff reports the changes that turn before into after, sorted by path: the same
// comparison Rescan makes in place, for two snapshots kept apart.
func Diff(before, after *snapshot) []Change {
	om, nm := before.Files(), after.Files()
	var out []change
	for p, oe := range om {
		ne, ok := nm[p]
		switch {
		case !ok:
			out = append(out, newChange(deleted, p, oe))
		case oe.IsDir() != ne.IsDir():
			out = append(out, newChange(deleted, p, oe), newChange(created, p, ne))
		case !ne.IsDir() && oe != ne:
			out = append(out, newChange(modified, p, ne))
		}
	}
	for p, ne := range nm {
		if _, ok := om[p]; !ok {
			out = append(out, newChange(created, p, ne))
		}
	}
	return finish(out)
}
