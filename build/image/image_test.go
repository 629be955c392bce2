// The tests of the image builder. build/image is a Go module of its own, so the repository
// root's `go test ./...` does not run these; run them with:
//
//	cd build/image && go test ./...
package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var (
	testCreated = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	testCACerts = "-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n"
	amd64       = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64       = v1.Platform{OS: "linux", Architecture: "arm64"}
)

// fakeELF returns the smallest file debug/elf reads as a Linux executable for machine: a
// header and, for a dynamic one, a PT_INTERP program header naming the loader.
func fakeELF(machine elf.Machine, dynamic bool) []byte {
	hdr := elf.Header64{
		Ident:     [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)},
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(machine),
		Version:   uint32(elf.EV_CURRENT),
		Ehsize:    64,
		Phentsize: 56,
		Shentsize: 64,
	}
	var b bytes.Buffer
	if !dynamic {
		binary.Write(&b, binary.LittleEndian, hdr)
		return b.Bytes()
	}

	const loader = "/lib64/ld-linux-x86-64.so.2\x00"
	hdr.Phoff, hdr.Phnum = 64, 1
	binary.Write(&b, binary.LittleEndian, hdr)
	binary.Write(&b, binary.LittleEndian, elf.Prog64{
		Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R), Off: 64 + 56,
		Filesz: uint64(len(loader)), Memsz: uint64(len(loader)),
	})
	b.WriteString(loader)
	return b.Bytes()
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, content []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeBinaries writes berth and berth-runtime for arch into a new folder. Each file ends
// with its own name, so a test can tell them apart in the layer.
func fakeBinaries(t *testing.T, arch string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range binaryNames {
		writeFile(t, dir, name, append(fakeELF(elfMachines[arch], false), name+" "+arch...), 0o755)
	}
	return dir
}

// testSpec is a spec over fake binaries for each platform and a fake CA bundle.
func testSpec(t *testing.T, platforms ...v1.Platform) Spec {
	t.Helper()
	spec := Spec{
		CACerts:  writeFile(t, t.TempDir(), "ca.pem", []byte(testCACerts), 0o644),
		Version:  "1.2.3",
		Revision: "0123abcd",
		Source:   "https://example.org/berth",
		Created:  testCreated,
		TempDir:  t.TempDir(),
	}
	for _, p := range platforms {
		spec.Platforms = append(spec.Platforms, PlatformBinaries{Platform: p, Dir: fakeBinaries(t, p.Architecture)})
	}
	return spec
}

// build writes spec's archive and returns its path and digest.
func build(t *testing.T, spec Spec) (string, v1.Hash) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out", "berth.oci.tar")
	digest, err := writeArchive(out, "berth:1.2.3", spec)
	if err != nil {
		t.Fatalf("writeArchive: %v", err)
	}
	return out, digest
}

// readArchive unpacks an OCI archive and opens it with go-containerregistry's layout reader,
// as a consumer of the archive would.
func readArchive(t *testing.T, archive string) v1.ImageIndex {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, hdr.Name, content, 0o644)
	}

	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("reading the archive as an OCI layout: %v", err)
	}
	return idx
}

// entry is what the tests compare of one tar entry.
type entry struct {
	Name         string
	Type         byte
	Mode         int64
	UID, GID     int
	Uname, Gname string
	ModTime      time.Time
	Content      string
}

func tarEntries(t *testing.T, r io.Reader) []entry {
	t.Helper()
	var got []entry
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{hdr.Name, hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, hdr.ModTime.UTC(), string(content)})
	}
}

func TestImageHasBerthsConfigAndOneLayer(t *testing.T) {
	spec := testSpec(t, amd64)
	archive, digest := build(t, spec)
	idx := readArchive(t, archive)

	// 1. index.json names one manifest, for linux/amd64, under the name given.
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index.json lists %d descriptors, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	if desc.Digest != digest || desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("index.json points at %s %s, want %s %s", desc.MediaType, desc.Digest, types.OCIManifestSchema1, digest)
	}
	if diff := cmp.Diff(map[string]string{refNameAnnotation: "berth:1.2.3"}, desc.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&amd64, desc.Platform); diff != "" {
		t.Errorf("platform (-want +got):\n%s", diff)
	}

	// 2. The config runs /berth as nonroot in /, with the labels.
	img, err := idx.Image(digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantConfig := v1.Config{
		Entrypoint: []string{"/berth"},
		User:       "65532:65532",
		WorkingDir: "/",
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin:/"},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "berth",
			"org.opencontainers.image.version":  "1.2.3",
			"org.opencontainers.image.revision": "0123abcd",
			"org.opencontainers.image.source":   "https://example.org/berth",
		},
	}
	if diff := cmp.Diff(wantConfig, cf.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(testCreated) {
		t.Errorf("config is for %s/%s created %s, want linux/amd64 created %s", cf.OS, cf.Architecture, cf.Created.Time, testCreated)
	}

	// 3. One gzipped OCI layer holds exactly these files, owned and dated so.
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("image has %d layers, want 1", len(layers))
	}
	if mt, _ := layers[0].MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type = %s, want %s", mt, types.OCILayer)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	binaryContent := func(name string) string { return string(fakeELF(elf.EM_X86_64, false)) + name + " amd64" }
	file := func(name string, mode int64, content string) entry {
		return entry{Name: name, Type: tar.TypeReg, Mode: mode, ModTime: testCreated, Content: content}
	}
	dir := func(name string, mode int64) entry {
		return entry{Name: name, Type: tar.TypeDir, Mode: mode, ModTime: testCreated}
	}
	nonrootHome := dir("home/nonroot/", 0o700)
	nonrootHome.UID, nonrootHome.GID = 65532, 65532
	want := []entry{
		file("berth", 0o755, binaryContent("berth")),
		file("berth-runtime", 0o755, binaryContent("berth-runtime")),
		dir("etc/", 0o755),
		file("etc/group", 0o644, "root:x:0:\nnonroot:x:65532:\n"),
		file("etc/passwd", 0o644, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"),
		dir("etc/ssl/", 0o755),
		dir("etc/ssl/certs/", 0o755),
		file("etc/ssl/certs/ca-certificates.crt", 0o644, testCACerts),
		dir("home/", 0o755),
		nonrootHome,
		dir("tmp/", 0o1777),
	}
	if diff := cmp.Diff(want, tarEntries(t, rc)); diff != "" {
		t.Errorf("layer (-want +got):\n%s", diff)
	}
}

func TestArchiveEntriesAreSortedRootOwnedAndDated(t *testing.T) {
	archive, _ := build(t, testSpec(t, amd64))
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var names []string
	for _, e := range tarEntries(t, f) {
		names = append(names, e.Name)
		wantMode := int64(0o644)
		if e.Type == tar.TypeDir {
			wantMode = 0o755
		}
		if e.Mode != wantMode || e.UID != 0 || e.GID != 0 || e.Uname != "" || e.Gname != "" || !e.ModTime.Equal(testCreated) {
			t.Errorf("%s: mode %o, owner %d:%d (%q:%q), time %s; want %o, 0:0 unnamed, %s",
				e.Name, e.Mode, e.UID, e.GID, e.Uname, e.Gname, e.ModTime, wantMode, testCreated)
		}
	}
	// Three blobs: manifest, config, layer.
	if len(names) != 7 || names[0] != "blobs/" || names[1] != "blobs/sha256/" || names[5] != "index.json" || names[6] != "oci-layout" {
		t.Errorf("archive entries = %q, want blobs/, blobs/sha256/, three blobs, index.json, oci-layout", names)
	}
}

func TestSameInputsGiveTheSameDigestAndBytes(t *testing.T) {
	first := testSpec(t, amd64)
	archive1, digest1 := build(t, first)

	// 1. The same content from other folders, with other host modes and times.
	second := testSpec(t, amd64)
	for _, name := range binaryNames {
		path := filepath.Join(second.Platforms[0].Dir, name)
		if err := os.Chmod(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, time.Unix(1, 0), time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
	}
	archive2, digest2 := build(t, second)
	if digest1 != digest2 {
		t.Errorf("digests differ for the same inputs: %s, then %s", digest1, digest2)
	}
	bytes1, _ := os.ReadFile(archive1)
	bytes2, _ := os.ReadFile(archive2)
	if !bytes.Equal(bytes1, bytes2) {
		t.Errorf("archives differ for the same inputs (%d and %d bytes)", len(bytes1), len(bytes2))
	}

	// 2. Any change of input changes the digest, so the check above is not vacuous.
	changes := map[string]func(*Spec){
		"binary":  func(s *Spec) { writeFile(t, s.Platforms[0].Dir, "berth", fakeELF(elf.EM_X86_64, false), 0o755) },
		"version": func(s *Spec) { s.Version = "1.2.4" },
		"created": func(s *Spec) { s.Created = s.Created.Add(time.Second) },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			spec := testSpec(t, amd64)
			change(&spec)
			if _, digest := build(t, spec); digest == digest1 {
				t.Errorf("a different %s gave the same digest %s", name, digest)
			}
		})
	}
}

func TestTwoPlatformsMakeAnIndexOfTwoImages(t *testing.T) {
	archive, digest := build(t, testSpec(t, amd64, arm64))
	top := readArchive(t, archive)

	// 1. index.json names one image index, under the name given.
	im, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].MediaType != types.OCIImageIndex || im.Manifests[0].Digest != digest {
		t.Fatalf("index.json lists %+v, want one %s with digest %s", im.Manifests, types.OCIImageIndex, digest)
	}
	if got := im.Manifests[0].Annotations[refNameAnnotation]; got != "berth:1.2.3" {
		t.Errorf("name = %q, want berth:1.2.3", got)
	}

	// 2. That index lists one image per platform, each holding that platform's binaries.
	idx, err := top.ImageIndex(digest)
	if err != nil {
		t.Fatal(err)
	}
	children, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []v1.Platform
	for _, d := range children.Manifests {
		platforms = append(platforms, *d.Platform)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != d.Platform.Architecture {
			t.Errorf("the %s image's config says %s", d.Platform.Architecture, cf.Architecture)
		}
		layers, _ := img.Layers()
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if berth := tarEntries(t, rc)[0]; !strings.HasSuffix(berth.Content, "berth "+d.Platform.Architecture) {
			t.Errorf("the %s image's /berth is not the %s binary", d.Platform.Architecture, d.Platform.Architecture)
		}
	}
	if diff := cmp.Diff([]v1.Platform{amd64, arm64}, platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
}

func TestBinariesThatCannotRunAreRejected(t *testing.T) {
	tests := []struct {
		name    string
		content []byte // nil: the file is missing
		want    string // %s is the file's path
	}{
		{"missing", nil,
			"%s does not exist; build it with CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build (bash scripts/image does)"},
		{"not ELF", []byte("#!/bin/sh\n"),
			"%s is not a Linux (ELF) executable; build it with CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build (bash scripts/image does)"},
		{"other architecture", fakeELF(elf.EM_AARCH64, false),
			"%s is built for EM_AARCH64, not amd64; build it with CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build (bash scripts/image does)"},
		{"dynamically linked", fakeELF(elf.EM_X86_64, true),
			"%s is dynamically linked and the image has no C library; build it with CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build (bash scripts/image does)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := testSpec(t, amd64)
			path := filepath.Join(spec.Platforms[0].Dir, "berth-runtime")
			os.Remove(path)
			if tt.content != nil {
				writeFile(t, spec.Platforms[0].Dir, "berth-runtime", tt.content, 0o755)
			}

			out := filepath.Join(t.TempDir(), "berth.oci.tar")
			_, err := writeArchive(out, "berth:1.2.3", spec)
			want := "building the linux/amd64 image: " + strings.ReplaceAll(tt.want, "%s", path)
			if err == nil || err.Error() != want {
				t.Errorf("error = %v\nwant    %s", err, want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed build left %s behind", out)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	env := func(epoch string) func(string) string {
		return func(k string) string {
			if k == "SOURCE_DATE_EPOCH" {
				return epoch
			}
			return ""
		}
	}

	t.Run("defaults", func(t *testing.T) {
		o, err := parseOptions([]string{"--out", "a.tar", "--binaries", "linux/amd64=x", "--version", "1.0"}, env("60"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if o.name != "berth:1.0" || !o.spec.Created.Equal(time.Unix(60, 0)) || o.spec.CACerts != defaultCACerts {
			t.Errorf("name %q, created %s, CA certs %q; want berth:1.0, 60 s after 1970, %s", o.name, o.spec.Created, o.spec.CACerts, defaultCACerts)
		}
		want := []PlatformBinaries{{Platform: amd64, Dir: "x"}}
		if diff := cmp.Diff(want, o.spec.Platforms); diff != "" {
			t.Errorf("platforms (-want +got):\n%s", diff)
		}
	})

	bad := []struct {
		name  string
		args  []string
		epoch string
		want  string
	}{
		{"no output", []string{"--binaries", "linux/amd64=x"}, "",
			"--out is required: the archive to write, such as dist/berth-image.oci.tar"},
		{"no binaries", []string{"--out", "a.tar"}, "",
			"--binaries is required: linux/amd64=DIR, DIR holding berth and berth-runtime"},
		{"no folder", []string{"--out", "a.tar", "--binaries", "linux/amd64"}, "",
			`invalid value "linux/amd64" for flag -binaries: "linux/amd64" is not linux/ARCH=DIR, such as linux/amd64=/tmp/amd64`},
		{"other OS", []string{"--out", "a.tar", "--binaries", "darwin/arm64=x"}, "",
			`invalid value "darwin/arm64=x" for flag -binaries: "darwin/arm64=x": only linux images are built; use linux/amd64 or linux/arm64`},
		{"other architecture", []string{"--out", "a.tar", "--binaries", "linux/riscv64=x"}, "",
			`invalid value "linux/riscv64=x" for flag -binaries: "linux/riscv64=x": architecture "riscv64" is not supported; use linux/amd64 or linux/arm64`},
		{"platform twice", []string{"--out", "a.tar", "--binaries", "linux/amd64=x", "--binaries", "linux/amd64=y"}, "",
			"--binaries names linux/amd64 twice; give each platform once"},
		{"bad name", []string{"--out", "a.tar", "--binaries", "linux/amd64=x", "--name", "Berth:1+2"}, "",
			`--name "Berth:1+2" is not an image name such as berth:0.1.0 or example.org/team/berth:v1 (lowercase name; the tag takes letters, digits, '_', '.' and '-', at most 128)`},
		{"bad epoch", []string{"--out", "a.tar", "--binaries", "linux/amd64=x"}, "yesterday",
			`--created (or SOURCE_DATE_EPOCH) "yesterday" is not a number of seconds since 1970, such as $(git log -1 --format=%ct)`},
		{"argument", []string{"--out", "a.tar", "--binaries", "linux/amd64=x", "extra"}, "",
			`unexpected argument "extra"; every input is a flag (see --help)`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOptions(tt.args, env(tt.epoch), io.Discard)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v\nwant    %s", err, tt.want)
			}
		})
	}
}
