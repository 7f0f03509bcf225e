package watch

import "syscall"

// sysFstatat is the fstatat system call whose result fits syscall.Stat_t.
const sysFstatat = syscall.SYS_FSTATAT
