package dash

import (
	"context"
	"io"

	"bgrun/store"
)

// CmdDashboard is the dashboard command (`bgrun --dashboard`): start the
// dashboard as the managed process bgr-dashboard, or say where it runs. A
// port given (not 0) is explicit: used as given, or the start fails.
func CmdDashboard(ctx context.Context, db *store.DB, w io.Writer, o LaunchOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.Out = w
	o.PortExplicit = o.PortExplicit || o.Port > 0
	return launch(ctx, db, db.Path(), o)
}

// CmdServe is the dashboard process itself (`bgrun --_serve`), serving until
// ctx ends; a port given is explicit, as for CmdDashboard.
func CmdServe(ctx context.Context, w io.Writer, o ServeOptions) error {
	if o.Out == nil {
		o.Out = w
	}
	o.Explicit = o.Explicit || o.Port > 0
	return serve(ctx, o)
}
