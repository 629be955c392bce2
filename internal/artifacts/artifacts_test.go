package artifacts

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFSPutOpenListDelete(t *testing.T) {
	s := FS{Root: t.TempDir()}
	ctx := context.Background()
	for _, k := range []string{"jobs/a/x.txt", "jobs/a/sub/y.txt", "jobs/b/z.txt"} {
		if err := s.Put(ctx, k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := s.Open(ctx, "jobs/a/sub/y.txt")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "jobs/a/sub/y.txt" {
		t.Fatalf("read %q", data)
	}
	keys, err := s.List(ctx, "jobs/a")
	if err != nil || strings.Join(keys, " ") != "jobs/a/sub/y.txt jobs/a/x.txt" {
		t.Fatalf("list: %v %v", keys, err)
	}
	if err := s.DeletePrefix(ctx, "jobs/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "jobs/a/x.txt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if keys, _ := s.List(ctx, "jobs/missing"); len(keys) != 0 {
		t.Fatalf("list of nothing: %v", keys)
	}
}

func TestFSRefusesKeysOutsideTheStore(t *testing.T) {
	s := FS{Root: t.TempDir()}
	for _, k := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", ".tmp/put-1"} {
		if err := s.Put(context.Background(), k, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) was accepted", k)
		}
	}
}

func TestFSCleanRemovesInterruptedWrites(t *testing.T) {
	s := FS{Root: t.TempDir()}
	tmp := filepath.Join(s.Root, tmpDir)
	os.MkdirAll(tmp, 0o700)
	os.WriteFile(filepath.Join(tmp, "put-123"), []byte("half"), 0o600)
	if err := s.Clean(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary files survived Clean: %v", err)
	}
	// A write that fails halfway leaves no blob.
	err := s.Put(context.Background(), "jobs/a/x", io.MultiReader(strings.NewReader("part"), failingReader{}))
	if err == nil {
		t.Fatal("a failed write reported success")
	}
	if _, err := s.Open(context.Background(), "jobs/a/x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed write left a blob: %v", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection lost") }
