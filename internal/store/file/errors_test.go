package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestFsErrMessages(t *testing.T) {
	s := newStore(t, t.TempDir())
	tests := []struct {
		errno syscall.Errno
		want  string
	}{
		{syscall.ENOSPC, "the destination is full: free space or grow the volume (PVC)"},
		{syscall.EDQUOT, "the destination is full"},
		{syscall.EROFS, "mounted read-only: mount it read-write"},
		{syscall.EACCES, fmt.Sprintf("permission denied: let lifeboat's user (uid %d)", os.Getuid())},
		{syscall.EPERM, "permission denied"},
		{syscall.EIO, "write k in file://"},
	}
	for _, tc := range tests {
		cause := &fs.PathError{Op: "write", Path: "/x", Err: tc.errno}
		err := s.fsErr("write", "k", cause)
		if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.errno) {
			t.Errorf("fsErr(%v) = %q, want it to contain %q and wrap the errno", tc.errno, err, tc.want)
		}
	}
}

// mountTmpfs mounts a small tmpfs (tests run as root in the dev container and CI), or skips
// when this machine does not allow it; TestFsErrMessages covers the messages either way.
func mountTmpfs(t *testing.T, flags uintptr, data string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, data); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the full and read-only destination cases need it", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func TestFullDisk(t *testing.T) {
	root := mountTmpfs(t, 0, "size=1m")
	s := newStore(t, root)
	mustPut(t, s, "vault/old/data.snap", strings.Repeat("o", 100_000))

	err := s.Put(context.Background(), "vault/new/data.snap", &failAfter{n: 4 << 20, err: errors.New("never reached")})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "the destination is full") {
		t.Fatalf("Put on a full disk = %v, want ENOSPC explained", err)
	}
	if found := tempFiles(t, root); len(found) != 0 {
		t.Fatalf("temporary files left on the full disk: %q", found)
	}
	infos, err := s.List(context.Background(), "")
	if err != nil || len(infos) != 1 || infos[0].Key != "vault/old/data.snap" || infos[0].Size != 100_000 {
		t.Fatalf("List after a full-disk Put = %+v, %v; want only the old backup, intact", infos, err)
	}
	// The space is back once the failed write is gone.
	mustPut(t, s, "vault/next/data.snap", strings.Repeat("n", 500_000))
}

func TestReadOnlyDestination(t *testing.T) {
	root := mountTmpfs(t, syscall.MS_RDONLY, "size=1m")
	s := newStore(t, root)
	err := s.Put(context.Background(), "vault/id/data.snap", strings.NewReader("x"))
	if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), "mount it read-write") {
		t.Fatalf("Put on a read-only mount = %v, want EROFS explained", err)
	}
}
