//go:build linux

package watch

import (
	"io/fs"
	"syscall"
	"time"
	"unsafe"
)

// stampsTrusted is true on Linux, where adding, removing or renaming an entry always
// changes the directory's ctime, which no user call can set back: a directory whose
// stamp is unchanged (and not racy) need not be listed again.
const stampsTrusted = true

// lstat fills e from the metadata of path, without following a final symlink. It calls
// syscall.Lstat rather than os.Lstat because os.Lstat allocates a FileInfo per call, and
// a scan makes one call per file, several times a second.
func lstat(path string, e *entry) error {
	var st syscall.Stat_t
	for {
		err := syscall.Lstat(path, &st)
		if err == nil {
			break
		}
		if err != syscall.EINTR {
			return &fs.PathError{Op: "lstat", Path: path, Err: err}
		}
	}
	fromStat(&st, e)
	return nil
}

// openDir opens the directory path for lstatAt, without following a symlink, and
// reports whether it could; never where this architecture has no lstatAt.
func openDir(path string) (int, bool) {
	if sysFstatat < 0 {
		return -1, false
	}
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err == nil
		}
	}
}

// closeDir closes a directory opened by openDir.
func closeDir(fd int) { syscall.Close(fd) }

// lstatAt is lstat of name in the directory open as dir. The kernel then resolves one
// name instead of a whole path, which saves about a fifth of the cost of an lstat.
func lstatAt(dir int, name string, e *entry) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	var st syscall.Stat_t
	for {
		_, _, errno := syscall.Syscall6(uintptr(max(sysFstatat, 0)), uintptr(dir), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&st)), atSymlinkNofollow, 0, 0)
		if errno == 0 {
			break
		}
		if errno != syscall.EINTR {
			return &fs.PathError{Op: "lstat", Path: name, Err: errno}
		}
	}
	fromStat(&st, e)
	return nil
}

// atSymlinkNofollow is AT_SYMLINK_NOFOLLOW, which the syscall package does not export.
const atSymlinkNofollow = 0x100

// fromStat fills e from st.
func fromStat(st *syscall.Stat_t, e *entry) {
	*e = entry{
		Size:    st.Size,
		ModTime: st.Mtim.Nano(),
		Mode:    fileMode(st.Mode),
		Ino:     st.Ino,
		dev:     uint64(st.Dev),
		ctime:   st.Ctim.Nano(),
	}
}

// fileMode converts a stat mode to an fs.FileMode the way package os does, so that
// entries compare the same whichever way they were read.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFBLK:
		mode |= fs.ModeDevice
	case syscall.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID, the CPU time of the calling thread.
const clockThreadCPUTime = 3

// threadCPU returns the CPU time the calling thread has used, and false if it cannot be
// read. The thread's clock is no vDSO call but one system call, made twice a pass.
func threadCPU() (time.Duration, bool) {
	var ts syscall.Timespec
	_, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// pseudoFS reports whether the directory at path is the root of a file
// system of the kernel's (proc, sysfs, cgroups, devpts, debugfs and the
// like), whose files are not files.
func pseudoFS(path string) bool {
	var st syscall.Statfs_t
	if syscall.Statfs(path, &st) != nil {
		return false
	}
	switch uint32(st.Type) {
	case 0x9fa0, // proc
		0x62656572,           // sysfs
		0x27e0eb, 0x63677270, // cgroup, cgroup2
		0x1cd1,                 // devpts
		0x64626720, 0x74726163, // debugfs, tracefs
		0x73636673, 0xcafe4a11, // securityfs, bpf
		0x6165676c, 0x62656570, // pstore, configfs
		0x19800202, 0x958458f6, // mqueue, hugetlbfs
		0x65735543, 0x42494e4d: // fusectl, binfmt_misc
		return true
	}
	return false
}
