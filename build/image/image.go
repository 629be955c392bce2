package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image runs as distroless's "nonroot" user, so a pod's securityContext can demand
// runAsNonRoot and the numeric id is known without reading /etc/passwd.
const (
	nonrootID = 65532
	imageUser = "65532:65532"
	imagePath = "PATH=/usr/local/bin:/usr/bin:/bin:/"
)

// binaryNames are the files every platform's folder must hold; they land at the image's root.
var binaryNames = []string{"berth", "berth-runtime"}

// Spec is everything an image is made from. Equal specs over equal files give equal digests:
// nothing reads the clock, the host's user names or the files' own times and modes.
type Spec struct {
	// Platforms lists one folder of static binaries per platform, in the index's order.
	Platforms []PlatformBinaries
	// CACerts is a PEM bundle copied to /etc/ssl/certs/ca-certificates.crt, where Go's
	// crypto/x509 looks first on Linux.
	CACerts string
	// Version, Revision and Source become the org.opencontainers.image.* labels; an empty
	// one is left out.
	Version  string
	Revision string
	Source   string
	// Created is the config's creation time and every file's modification time.
	Created time.Time
	// TempDir holds the compressed layers while the archive is written.
	TempDir string
}

// PlatformBinaries is a folder holding berth and berth-runtime built for Platform.
type PlatformBinaries struct {
	Platform v1.Platform
	Dir      string
}

// elfMachines maps the architectures the image is built for to the ELF machine their
// binaries must declare, so an amd64 binary never ends up in the arm64 image.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
}

// buildImage assembles the image for one platform: an empty base, one layer with the
// binaries, passwd, group and CA certificates, and a config that runs /berth as nonroot.
func buildImage(spec Spec, pb PlatformBinaries) (v1.Image, error) {
	for _, name := range binaryNames {
		if err := checkStaticBinary(filepath.Join(pb.Dir, name), pb.Platform.Architecture); err != nil {
			return nil, err
		}
	}
	layer, err := buildLayer(spec, pb)
	if err != nil {
		return nil, err
	}

	created := v1.Time{Time: spec.Created.UTC()}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: pb.Platform.Architecture,
		OS:           pb.Platform.OS,
		Variant:      pb.Platform.Variant,
		Created:      created,
		Config: v1.Config{
			Entrypoint: []string{"/berth"},
			User:       imageUser,
			WorkingDir: "/",
			Env:        []string{imagePath},
			Labels:     labels(spec),
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, fmt.Errorf("writing the image config: %w", err)
	}

	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "berth build/image: /berth, /berth-runtime, /etc/passwd, /etc/group, CA certificates",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("adding the layer: %w", err)
	}
	return img, nil
}

// labels returns the OCI labels that have a value.
func labels(spec Spec) map[string]string {
	all := map[string]string{
		"org.opencontainers.image.title":    "berth",
		"org.opencontainers.image.version":  spec.Version,
		"org.opencontainers.image.revision": spec.Revision,
		"org.opencontainers.image.source":   spec.Source,
	}
	for k, v := range all {
		if v == "" {
			delete(all, k)
		}
	}
	return all
}

// layerFile is one entry of the image's only layer.
type layerFile struct {
	name     string // relative to /, a trailing slash for a folder
	mode     int64  // permission bits, with setuid/setgid/sticky
	uid, gid int
	content  []byte // inline content, when from is empty
	from     string // a host file to copy, read at write time so large binaries stay on disk
}

// etcPasswd and etcGroup name root and nonroot, as distroless/static does, so tools that
// look the user up (and HOME for nonroot) work.
const (
	etcPasswd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	etcGroup  = "root:x:0:\nnonroot:x:65532:\n"
)

// layerFiles lists the layer in the order it is written: sorted, each folder before its
// contents. The binaries are root's, so the nonroot user cannot replace them.
func layerFiles(spec Spec, pb PlatformBinaries) []layerFile {
	return []layerFile{
		{name: "berth", mode: 0o755, from: filepath.Join(pb.Dir, "berth")},
		{name: "berth-runtime", mode: 0o755, from: filepath.Join(pb.Dir, "berth-runtime")},
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, content: []byte(etcGroup)},
		{name: "etc/passwd", mode: 0o644, content: []byte(etcPasswd)},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, from: spec.CACerts},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: nonrootID, gid: nonrootID},
		{name: "tmp/", mode: 0o1777},
	}
}

// buildLayer writes the layer's tar, gzipped once, to a file in spec.TempDir and returns it
// as an OCI layer. Compressing here rather than letting the library do it keeps the level
// fixed and the work done once for both the digest and the blob.
func buildLayer(spec Spec, pb PlatformBinaries) (v1.Layer, error) {
	f, err := os.CreateTemp(spec.TempDir, "layer-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("creating the layer file: %w", err)
	}
	defer f.Close()

	zw, err := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if err := writeLayerTar(zw, layerFiles(spec, pb), spec.Created); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing the layer: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing the layer file: %w", err)
	}
	return tarball.LayerFromFile(f.Name(), tarball.WithMediaType(types.OCILayer))
}

// writeLayerTar writes files as a tar stream with fixed owners and times and no user or
// group names, so only their content, mode and name reach the digest.
func writeLayerTar(w io.Writer, files []layerFile, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, lf := range files {
		hdr := &tar.Header{
			Name:    lf.name,
			Mode:    lf.mode,
			Uid:     lf.uid,
			Gid:     lf.gid,
			ModTime: mtime.UTC(),
			Format:  tar.FormatPAX,
		}
		if err := writeLayerEntry(tw, hdr, lf); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeLayerEntry(tw *tar.Writer, hdr *tar.Header, lf layerFile) error {
	if hdr.Name[len(hdr.Name)-1] == '/' {
		hdr.Typeflag = tar.TypeDir
		return tw.WriteHeader(hdr)
	}

	hdr.Typeflag = tar.TypeReg
	var src io.Reader = bytes.NewReader(lf.content)
	hdr.Size = int64(len(lf.content))
	if lf.from != "" {
		f, err := os.Open(lf.from)
		if err != nil {
			return fmt.Errorf("reading /%s from %s: %w", lf.name, lf.from, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file; give the path of the file itself for /%s", lf.from, lf.name)
		}
		src, hdr.Size = f, st.Size()
	}

	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing /%s into the layer: %w", lf.name, err)
	}
	if n, err := io.Copy(tw, src); err != nil {
		return fmt.Errorf("writing /%s into the layer: %w", lf.name, err)
	} else if n != hdr.Size {
		return fmt.Errorf("%s changed size while it was read (%d bytes, then %d); build again once nothing writes it", lf.from, hdr.Size, n)
	}
	return nil
}

// checkStaticBinary reports why path cannot run in an image with no OS: it is missing, not
// an ELF executable for arch, or dynamically linked (asks for an interpreter the image lacks,
// which fails at start with a bare "no such file or directory").
func checkStaticBinary(path, arch string) error {
	const hint = "build it with CGO_ENABLED=0 GOOS=linux GOARCH=%s go build (bash scripts/image does)"
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("architecture %q is not supported; use amd64 or arm64", arch)
	}
	f, err := elf.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s does not exist; "+hint, path, arch)
	}
	if err != nil {
		return fmt.Errorf("%s is not a Linux (ELF) executable; "+hint, path, arch)
	}
	defer f.Close()

	if f.Machine != want {
		return fmt.Errorf("%s is built for %s, not %s; "+hint, path, f.Machine, arch, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked and the image has no C library; "+hint, path, arch)
		}
	}
	return nil
}
