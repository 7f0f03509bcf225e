//go:build !darwin && !windows

package run

// DefaultInit is the init system `bgrun startup` writes for when none is named.
const DefaultInit = "systemd"
