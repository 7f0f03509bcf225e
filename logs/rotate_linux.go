package logs

import (
	"errors"
	"os"
	"sync"
	"syscall"
)

// fallocCollapseRange is FALLOC_FL_COLLAPSE_RANGE of <linux/falloc.h>,
// which the syscall package does not name.
const fallocCollapseRange = 0x08

// noCollapse remembers the devices whose file system refused to collapse a
// range, so that a supervisor does not copy twice at every rotation there.
var noCollapse sync.Map // device number -> true

// rotateCollapse copies up to maxSize bytes before a block boundary of src
// to dst (nil: none) and then cuts everything before that boundary from
// src, which keeps what lies after it: at most maxSize bytes and a block. The kernel holds the file's lock for the cut as it does for each
// append, so a write of the process lands either before the boundary (and
// was copied, since the copy ended there) or after it (and stays): no byte
// is lost, none is doubled. It returns errNoCollapse, having written
// nothing that stays, when the file system cannot do it (tmpfs, btrfs, nfs)
// or the file is smaller than two blocks.
func rotateCollapse(src, dst *os.File, maxSize int64) error {
	st, err := src.Stat()
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || sys.Blksize <= 0 {
		return errNoCollapse
	}
	if _, bad := noCollapse.Load(sys.Dev); bad {
		return errNoCollapse
	}
	blk := int64(sys.Blksize)
	size := st.Size()
	// Where to cut: at maxSize when the file holds less than twice that, so
	// that the copy takes all of it but the tail and nothing is dropped (a
	// check finds a file just past its cap); else maxSize before the end, so
	// that the file keeps at most maxSize and only what lies before the
	// copy is dropped (a process writing faster than the checks). The cut
	// falls on a block boundary, before the end of the file.
	cut := max(maxSize, size-maxSize) / blk * blk
	cut = min(cut, (size-1)/blk*blk)
	if cut <= 0 {
		return errNoCollapse
	}
	if dst != nil {
		lo, err := lineStart(src, max(0, cut-maxSize), cut)
		if err != nil {
			return err
		}
		if err := copyRange(dst, src, lo, cut); err != nil {
			return err
		}
	}
	err = syscall.Fallocate(int(src.Fd()), fallocCollapseRange, 0, cut)
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		noCollapse.Store(sys.Dev, true)
	}
	// Forget the copy: the fallback makes its own.
	if dst != nil {
		if terr := dst.Truncate(0); terr != nil {
			return terr
		}
	}
	return errNoCollapse
}
