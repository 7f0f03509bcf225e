package store

import "fmt"

// Kind says what sort of failure an error is, so that each front end can
// answer it in its own terms: the command line with exit status 2 or 1 and
// a hint, the dashboard with an HTTP status. It lives here because store is
// the one package every feature package imports.
type Kind int

// The kinds of error. An error of no kind is an internal failure.
const (
	KindNone        Kind = iota
	KindBadInput         // the caller asked for something malformed (exit 2, HTTP 400)
	KindNotFound         // no such process (exit 1, HTTP 404)
	KindConflict         // the request clashes with the current state (exit 1, HTTP 409)
	KindFailedStart      // the process ended during its startup window (exit 1, HTTP 422)
)

func (k Kind) String() string {
	switch k {
	case KindBadInput:
		return "bad input"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindFailedStart:
		return "failed start"
	}
	return "internal"
}

// Error is an error of a kind. Its text names no command-line flag: the
// front end adds its own hint.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf formats an error of kind k; %w wraps as in fmt.Errorf.
func Errorf(k Kind, format string, a ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, a...)}
}

// kinded is an error that knows its kind without being an *Error, such as a
// package's own error type (a failed start carries its exit status).
type kinded interface{ ErrorKind() Kind }

// KindOf returns the kind of err: the outermost kind in its chain, or
// KindNotFound for ErrNotFound, else KindNone.
func KindOf(err error) Kind {
	for e := err; e != nil; {
		switch v := e.(type) {
		case *Error:
			return v.Kind
		case kinded:
			return v.ErrorKind()
		}
		if e == ErrNotFound {
			return KindNotFound
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if k := KindOf(inner); k != KindNone {
					return k
				}
			}
			return KindNone
		default:
			return KindNone
		}
	}
	return KindNone
}
