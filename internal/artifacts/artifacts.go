// Package artifacts keeps files the workspace holds: code snapshots, uploaded inputs, job
// outputs and logs. Store is small enough for an object store (a gocloud.dev blob bucket) to
// implement; FS keeps them under a folder and is the embedded default.
package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotFound is returned by Open for a key that holds nothing.
var ErrNotFound = errors.New("artifact not found")

// Store holds blobs by key. Keys are slash-separated relative paths.
type Store interface {
	// Put writes r under key, replacing what was there.
	Put(ctx context.Context, key string, r io.Reader) error
	// Open reads the blob under key.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the keys under prefix (a folder), sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// DeletePrefix removes every key under prefix.
	DeletePrefix(ctx context.Context, prefix string) error
}

// FS stores artifacts as files under Root. A blob is written into tmpDir first and renamed
// into place whole, so a crash leaves at most a temporary file, which Clean removes.
type FS struct {
	Root string
}

const tmpDir = ".tmp"

// Clean removes what writes interrupted by a crash left behind. Call it before serving.
func (s FS) Clean() error {
	return os.RemoveAll(filepath.Join(s.Root, tmpDir))
}

// CheckKey rejects keys that are empty, absolute, or climb out of the store.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || path.Clean(key) != key || key == ".." ||
		strings.HasPrefix(key, "../") || strings.Contains(key, "\\") || strings.HasPrefix(key, tmpDir) {
		return fmt.Errorf("artifact key %q is not a clean relative path", key)
	}
	return nil
}

func (s FS) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.Root, filepath.FromSlash(key)), nil
}

// Put implements Store. The blob appears whole or not at all.
func (s FS) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.Root, tmpDir)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(tmp, "put-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("storing artifact %s: %w", key, err)
	}
	return nil
}

// Open implements Store.
func (s FS) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// List implements Store.
func (s FS) List(ctx context.Context, prefix string) ([]string, error) {
	root, err := s.path(prefix)
	if err != nil {
		return nil, err
	}
	var keys []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(s.Root, p)
			if err != nil {
				return err
			}
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(keys)
	return keys, err
}

// DeletePrefix implements Store.
func (s FS) DeletePrefix(ctx context.Context, prefix string) error {
	p, err := s.path(prefix)
	if err != nil {
		return err
	}
	return os.RemoveAll(p)
}
