package dash

import (
	"context"
	"io"

	"bgrun/store"
)

// CmdDashboard is the dashboard command (`bgrun --dashboard`): start the
// dashboard as the managed process bgr-dashboard, or say where it runs.
func CmdDashboard(ctx context.Context, db *store.DB, w io.Writer, o LaunchOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.Out = w
	return Launch(db, db.Path(), o)
}

// CmdServe is the dashboard process itself (`bgrun --_serve`), serving until
// ctx ends.
func CmdServe(ctx context.Context, w io.Writer, o ServeOptions) error {
	if o.Out == nil {
		o.Out = w
	}
	return Serve(ctx, o)
}
