package ps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"bgrun/store"
)

// ListOptions are the flags of `bgrun ps` (and of the bare `bgrun`).
type ListOptions struct {
	JSON  bool
	Group string // --filter: only this BGR_GROUP
	Style Style
	// Loaded is given the records read, before they are inspected (see
	// Options.Loaded).
	Loaded func([]store.Record)
}

// CmdList is the list command: every record with its live state, as a
// table fitted to o.Style or as JSON.
func CmdList(ctx context.Context, db *store.DB, w io.Writer, o ListOptions) error {
	procs, err := List(ctx, db, Options{Group: o.Group, Loaded: o.Loaded})
	if err != nil {
		return err
	}
	if o.JSON {
		return WriteJSON(w, procs)
	}
	if len(procs) == 0 && o.Group != "" {
		_, err := fmt.Fprintf(w, "No processes in group %q.\n", o.Group)
		return err
	}
	return writeTable(w, procs, o.Style)
}

// ShowOptions are the flags of `bgrun show NAME...` (and `bgrun NAME`).
type ShowOptions struct {
	Names []string
	JSON  bool
	Style Style
}

// CmdShow is the show command: each named process in full.
func CmdShow(ctx context.Context, db *store.DB, w io.Writer, o ShowOptions) error {
	for _, n := range o.Names {
		if err := store.ValidateName(n); err != nil {
			return err
		}
	}
	for _, n := range o.Names {
		p, err := Get(ctx, db, n)
		if err != nil {
			return err
		}
		if o.JSON {
			err = WriteJSON(w, p)
		} else {
			err = writeDetails(w, p, o.Style)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// PortsOptions are the flags of `bgrun ports [NAME]`.
type PortsOptions struct {
	Name string // only this process; "" for all
	JSON bool
}

// CmdPorts is the ports command: which managed process listens where.
func CmdPorts(ctx context.Context, db *store.DB, w io.Writer, o PortsOptions) error {
	if o.Name != "" {
		if _, err := db.Get(o.Name); err != nil {
			return err
		}
	}
	procs, err := List(ctx, db, Options{})
	if err != nil {
		return err
	}
	entries, err := portTable(ctx, procs, o.Name)
	if err != nil {
		return err
	}
	if o.JSON {
		return WriteJSON(w, entries)
	}
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "No managed process listens on a TCP port.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPORT\tPID\tADDRESS")
	for _, p := range entries {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", p.Name, p.Port, p.PID, p.Address)
	}
	return tw.Flush()
}

// CmdNames prints the name of every record, one a line, reading only the
// store: the fast call behind shell completion.
func CmdNames(ctx context.Context, db *store.DB, w io.Writer) error {
	recs, err := db.List()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, err := fmt.Fprintln(w, r.Name); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes v as indented JSON: the one shape of every --json.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
