// Package dash implements the web dashboard (being written).
package dash

import (
	"context"
	"errors"
	"io"
	"time"

	"bgrun/store"
)

const Name = "bgr-dashboard"

type LaunchOptions struct {
	Port         int
	PortExplicit bool
	Host         string
	Token        string
	Force        bool
	Home         string
	StopTimeout  time.Duration
	Out          io.Writer
}

func Launch(db *store.DB, dbPath string, o LaunchOptions) error { return errors.New("x") }

type ServeOptions struct {
	Port                         int
	Explicit                     bool
	Host, Token, DBPath, Version string
}

func Serve(ctx context.Context, o ServeOptions) error { return errors.New("x") }
