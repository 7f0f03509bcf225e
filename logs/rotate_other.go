//go:build !linux

package logs

import "os"

// rotateCollapse is Linux only; elsewhere Rotate copies and truncates.
func rotateCollapse(src, dst *os.File, maxSize int64) error { return errNoCollapse }
