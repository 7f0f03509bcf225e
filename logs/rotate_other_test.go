//go:build !linux

package logs

func collapseSupported(path string) bool { return false }
