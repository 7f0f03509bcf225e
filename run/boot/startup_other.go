//go:build !darwin && !windows

package boot

// DefaultInit is the init system `bgrun startup` writes for when none is named.
const DefaultInit = "systemd"
