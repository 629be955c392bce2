// Package archive moves folders as tar streams: the CLI snapshots code and input folders
// (honouring .amlignore or else .gitignore), the server unpacks uploads into the artifact
// store and packs job outputs for download, and the CLI unpacks downloads. Every name read
// from a stream is checked, so a crafted upload cannot write outside its folder.
package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	ignore "github.com/sabhiram/go-gitignore"

	"berth/internal/artifacts"
)

// File is one file to pack: its slash-separated name in the archive and where it is on disk.
type File struct {
	Name string
	Path string
	Size int64
}

// Collect lists what a snapshot of root holds. A file root gives one entry named after it; a
// folder gives its files, skipping what an .amlignore file, or else a .gitignore file, in
// the folder or any folder below excludes. Symbolic links are followed (their targets are
// packed under the link's name); a broken one is an error, not a silent gap.
func Collect(root string) ([]File, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []File{{Name: filepath.Base(root), Path: root, Size: info.Size()}}, nil
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	return collectDir(root, "", map[string]bool{real: true})
}

// ignoreRule is an ignore file's patterns, which apply below the folder that holds it.
type ignoreRule struct {
	dir string // slash-separated, relative to the snapshot's root, "" for the root
	m   *ignore.GitIgnore
}

func ignoredBy(rules []ignoreRule, rel string, isDir bool) bool {
	for _, r := range rules {
		if r.dir != "" && !strings.HasPrefix(rel, r.dir+"/") {
			continue
		}
		sub := strings.TrimPrefix(strings.TrimPrefix(rel, r.dir), "/")
		if r.m.MatchesPath(sub) || (isDir && r.m.MatchesPath(sub+"/")) {
			return true
		}
	}
	return false
}

// collectDir lists the files under root with names under prefix. visited holds the real
// paths of the folders being walked, so that a link to a parent folder does not loop.
func collectDir(root, prefix string, visited map[string]bool) ([]File, error) {
	var files []File
	var rules []ignoreRule
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && ignoredBy(rules, rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := path.Join(prefix, rel)
		switch {
		case d.IsDir():
			dir := rel
			if dir == "." {
				dir = ""
			}
			for _, file := range []string{".amlignore", ".gitignore"} {
				m, err := ignore.CompileIgnoreFile(filepath.Join(p, file))
				if err == nil {
					rules = append(rules, ignoreRule{dir: dir, m: m})
					break
				}
				if !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("reading %s: %w", filepath.Join(p, file), err)
				}
			}
		case d.Type()&fs.ModeSymlink != 0:
			linked, err := collectLink(p, name, visited)
			if err != nil {
				return err
			}
			files = append(files, linked...)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, File{Name: name, Path: p, Size: info.Size()})
		}
		return nil // sockets, devices and pipes are not part of a snapshot
	})
	return files, err
}

// collectLink lists what a symbolic link at p points to, named name.
func collectLink(p, name string, visited map[string]bool) ([]File, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%s is a broken symbolic link; remove it, or list it in .amlignore", p)
	}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil, nil
		}
		return []File{{Name: name, Path: p, Size: info.Size()}}, nil
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil, err
	}
	if visited[real] {
		return nil, fmt.Errorf("%s links to a folder that contains it; remove the link, or list it in .amlignore", p)
	}
	visited[real] = true
	defer delete(visited, real)
	return collectDir(real, name, visited)
}

// TotalSize is the sum of the files' sizes.
func TotalSize(files []File) int64 {
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n
}

// Write packs files into a tar stream on w.
func Write(w io.Writer, files []File) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		if err := writeFile(tw, f); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeFile(tw *tar.Writer, f File) error {
	src, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: f.Name, Mode: int64(info.Mode().Perm()), Size: info.Size(),
		ModTime: info.ModTime(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, src, info.Size()); err != nil {
		return fmt.Errorf("packing %s: %w", f.Path, err)
	}
	return nil
}

// CheckName reports whether an archive entry name is a clean relative path that stays
// inside the folder it is unpacked into.
func CheckName(name string) error {
	clean := path.Clean(name)
	if name == "" || strings.HasPrefix(name, "/") || clean == "." || clean == ".." ||
		strings.HasPrefix(clean, "../") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return fmt.Errorf("archive entry %q is not a relative path inside its folder", name)
	}
	return nil
}

// each calls fn for every regular file of a tar stream, after checking its name. Folders
// are skipped (they are implied by the files); links and devices are refused.
func each(r io.Reader, fn func(name string, mode int64, body io.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading archive: %w", err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return fmt.Errorf("archive entry %q is a link or special file; only regular files are accepted", hdr.Name)
		}
		if err := CheckName(hdr.Name); err != nil {
			return err
		}
		if err := fn(path.Clean(hdr.Name), hdr.Mode, tr); err != nil {
			return err
		}
	}
}

// StoreTar stores a tar stream whole under key, checking every entry as it passes, and
// returns the names of its files. A stream with a bad entry stores nothing.
func StoreTar(ctx context.Context, r io.Reader, store artifacts.Store, key string) ([]string, error) {
	pr, pw := io.Pipe()
	stored := make(chan error, 1)
	go func() {
		err := store.Put(ctx, key, pr)
		pr.CloseWithError(err)
		stored <- err
	}()
	var names []string
	err := each(io.TeeReader(r, pw), func(name string, _ int64, body io.Reader) error {
		names = append(names, name)
		_, err := io.Copy(io.Discard, body)
		return err
	})
	if err == nil {
		_, err = io.Copy(pw, r) // the end-of-archive blocks the reader stops before
	}
	pw.CloseWithError(err)
	if perr := <-stored; err == nil {
		err = perr
	}
	if err != nil {
		return nil, err
	}
	return names, nil
}

// Names lists the files of a tar stream, checking each entry.
func Names(r io.Reader) ([]string, error) {
	var names []string
	err := each(r, func(name string, _ int64, body io.Reader) error {
		names = append(names, name)
		return nil
	})
	return names, err
}

// UnpackFromStore unpacks the tar stored under key into dir.
func UnpackFromStore(ctx context.Context, store artifacts.Store, key, dir string) error {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("opening %s: %w", key, err)
	}
	defer rc.Close()
	return ToDir(rc, dir)
}

// StorePrefixAsTar packs the artifacts under prefix into one tar stored under key, their
// names under folder.
func StorePrefixAsTar(ctx context.Context, store artifacts.Store, prefix, folder, key string) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(fromStore(ctx, pw, store, prefix, folder+"/")) }()
	err := store.Put(ctx, key, pr)
	pr.CloseWithError(err)
	return err
}

// CopyKey copies one artifact.
func CopyKey(ctx context.Context, store artifacts.Store, from, to string) error {
	rc, err := store.Open(ctx, from)
	if err != nil {
		return err
	}
	defer rc.Close()
	return store.Put(ctx, to, rc)
}

// ToDir unpacks a tar stream into dir, creating it.
func ToDir(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return each(r, func(name string, mode int64, body io.Reader) error {
		return writeTo(filepath.Join(dir, filepath.FromSlash(name)), fs.FileMode(mode)&0o777|0o600, body)
	})
}

func writeTo(p string, mode fs.FileMode, body io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// FromStore packs the artifacts under prefix into a tar stream on w, named relative to the
// prefix.
func FromStore(ctx context.Context, w io.Writer, store artifacts.Store, prefix string) error {
	return fromStore(ctx, w, store, prefix, "")
}

func fromStore(ctx context.Context, w io.Writer, store artifacts.Store, prefix, under string) error {
	keys, err := store.List(ctx, prefix)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, key := range keys {
		if err := copyKeyToTar(ctx, tw, store, key, under+strings.TrimPrefix(key, prefix+"/")); err != nil {
			return err
		}
	}
	return tw.Close()
}

func copyKeyToTar(ctx context.Context, tw *tar.Writer, store artifacts.Store, key, name string) error {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	// The size must be known before the body, so the blob is staged in a temporary file.
	tmp, err := os.CreateTemp("", "berth-pack-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	size, err := io.Copy(tmp, rc)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, tmp)
	return err
}

// CopyFromStore writes the artifacts under prefix into dir, named relative to the prefix.
func CopyFromStore(ctx context.Context, store artifacts.Store, prefix, dir string) error {
	keys, err := store.List(ctx, prefix)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, key := range keys {
		rc, err := store.Open(ctx, key)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(key, prefix+"/")
		err = writeTo(filepath.Join(dir, filepath.FromSlash(name)), 0o644, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// CopyToStore puts every regular file under dir into the artifact store under prefix.
func CopyToStore(ctx context.Context, dir string, store artifacts.Store, prefix string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return store.Put(ctx, prefix+"/"+filepath.ToSlash(rel), f)
	})
}
