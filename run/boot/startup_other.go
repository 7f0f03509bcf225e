//go:build !darwin && !windows

package boot

// defaultInit is the init system `bgrun startup` writes for when none is named.
const defaultInit = "systemd"
