package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
)

// refNameAnnotation names the image inside the layout: `skopeo copy oci-archive:FILE:NAME`
// selects it by this name, and podman load names the image after it (localhost/berth:TAG
// for berth:TAG).
const refNameAnnotation = "org.opencontainers.image.ref.name"

// writeArchive builds spec's image and writes it to out as a tar of an OCI image layout,
// named name. One platform gives index.json pointing at its manifest; several give
// index.json pointing at one image index that lists a manifest per platform, which is
// what registries serve for a multi-platform image. It returns the digest of what
// index.json points at: the digest the image has once pushed.
func writeArchive(out, name string, spec Spec) (v1.Hash, error) {
	dir, err := os.MkdirTemp(spec.TempDir, "layout-")
	if err != nil {
		return v1.Hash{}, fmt.Errorf("creating the layout folder: %w", err)
	}
	defer os.RemoveAll(dir)

	top, err := writeLayout(dir, name, spec)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := tarLayout(dir, out, spec.Created); err != nil {
		return v1.Hash{}, err
	}
	return top, nil
}

// writeLayout writes the OCI layout into the empty folder dir.
func writeLayout(dir, name string, spec Spec) (v1.Hash, error) {
	if len(spec.Platforms) == 0 {
		return v1.Hash{}, fmt.Errorf("no platform to build; give at least one --binaries OS/ARCH=DIR")
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("starting the OCI layout: %w", err)
	}
	named := layout.WithAnnotations(map[string]string{refNameAnnotation: name})

	if len(spec.Platforms) == 1 {
		pb := spec.Platforms[0]
		img, err := buildImage(spec, pb)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("building the %s image: %w", pb.Platform, err)
		}
		if err := lp.AppendImage(img, named, layout.WithPlatform(pb.Platform)); err != nil {
			return v1.Hash{}, fmt.Errorf("writing the OCI layout: %w", err)
		}
		return img.Digest()
	}

	var adds []mutate.IndexAddendum
	for _, pb := range spec.Platforms {
		img, err := buildImage(spec, pb)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("building the %s image: %w", pb.Platform, err)
		}
		platform := pb.Platform
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &platform}})
	}

	idx := mutate.AppendManifests(empty.Index, adds...)
	if err := lp.AppendIndex(idx, named); err != nil {
		return v1.Hash{}, fmt.Errorf("writing the OCI layout: %w", err)
	}
	desc, err := partial.Descriptor(idx)
	if err != nil {
		return v1.Hash{}, err
	}
	return desc.Digest, nil
}

// tarLayout writes the folder dir as a tar at out, through a temporary file renamed into
// place so a failed build leaves no half archive. Entries are sorted (filepath.WalkDir's
// order), owned by root with no names, dated mtime, 0755 for folders and 0644 for files,
// so the archive's own bytes are as reproducible as the digest.
func tarLayout(dir, out string, mtime time.Time) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating the folder for %s: %w", out, err)
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", out, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		return addLayoutEntry(tw, path, filepath.ToSlash(rel), d, mtime)
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return os.Rename(f.Name(), out)
}

func addLayoutEntry(tw *tar.Writer, path, name string, d fs.DirEntry, mtime time.Time) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, ModTime: mtime.UTC(), Format: tar.FormatPAX}
	if d.IsDir() {
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
		return tw.WriteHeader(hdr)
	}

	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}
