//go:build linux && !amd64 && !arm64

package watch

// sysFstatat is -1 where the fstatat call and syscall.Stat_t are not known to match (a
// 32-bit stat, or statx only): entries are lstatted by their whole path.
const sysFstatat = -1
