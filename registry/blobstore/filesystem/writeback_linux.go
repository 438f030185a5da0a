//go:build linux

package filesystem

import (
	"os"
	"syscall"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE from linux/fs.h.
const syncFileRangeWrite = 0x2

// startWriteback asks the kernel to start writing a range to disk without
// waiting for it. Writing a large upload then overlaps with receiving it,
// and the fsync at commit waits for the tail only, not for the whole blob
// sitting in the page cache.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SyncFileRange(int(fd), off, n, syncFileRangeWrite)
	})
}
