// Command image writes berth's in-cluster image as an OCI image layout archive (a tar that
// `podman load -i` and `skopeo copy oci-archive:` read) from berth and berth-runtime built
// as static binaries. No Docker engine or registry is involved. The image has no OS
// underneath: one layer with /berth, /berth-runtime, /etc/passwd and /etc/group naming
// nonroot (65532), CA certificates, /home/nonroot and /tmp. It runs /berth as 65532:65532
// in /.
//
// The output is reproducible: the same binaries, certificates, flags and Go toolchain give
// the same digest and the same archive bytes. bash scripts/image builds the binaries and
// runs this; see CONTRIBUTING.md.
//
// This folder is a Go module of its own, so berth's module does not depend on
// go-containerregistry, and `go test ./...` at the repository root neither builds nor
// tests it. Its tests run with: cd build/image && go test ./...
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const defaultCACerts = "/etc/ssl/certs/ca-certificates.crt"

// reportedError is a flag error that the flag package has already printed with the usage,
// so main only exits.
type reportedError struct{ error }

// options are the parsed command line.
type options struct {
	out  string
	name string
	spec Spec
}

// namePattern is a repository with an optional tag, in the grammar of the OCI distribution
// spec: podman names the loaded image after it, so anything else fails the load.
var namePattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*` +
	`(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$`)

func main() {
	opts, err := parseOptions(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if errors.As(err, new(reportedError)) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(2)
	}
	if err := run(opts, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// parseOptions reads the flags; getenv supplies SOURCE_DATE_EPOCH.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	var created string
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: image --out FILE --binaries linux/ARCH=DIR [--binaries linux/ARCH=DIR] [flags]\n\n"+
			"Writes berth's image as an OCI layout archive and prints its digest. Each DIR holds\n"+
			"berth and berth-runtime built with CGO_ENABLED=0 for that platform.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.out, "out", "", "archive to write (required)")
	fs.Func("binaries", "`linux/ARCH=DIR`: a folder with berth and berth-runtime for linux/amd64 or linux/arm64; repeat for a multi-platform image", func(v string) error {
		pb, err := parsePlatformBinaries(v)
		if err != nil {
			return err
		}
		o.spec.Platforms = append(o.spec.Platforms, pb)
		return nil
	})
	fs.StringVar(&o.name, "name", "", "`NAME[:TAG]` the archive gives the image; podman load tags it so (default berth:VERSION, else berth:latest)")
	fs.StringVar(&o.spec.Version, "version", "", "org.opencontainers.image.version label")
	fs.StringVar(&o.spec.Revision, "revision", "", "org.opencontainers.image.revision label (the source commit)")
	fs.StringVar(&o.spec.Source, "source", "", "org.opencontainers.image.source label (URL of the source repository)")
	fs.StringVar(&o.spec.CACerts, "ca-certs", defaultCACerts, "PEM bundle to install as /etc/ssl/certs/ca-certificates.crt")
	fs.StringVar(&created, "created", getenv("SOURCE_DATE_EPOCH"), "creation time and file times, in `seconds` since 1970 (default $SOURCE_DATE_EPOCH, else 0)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, reportedError{err}
	}

	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; every input is a flag (see --help)", fs.Arg(0))
	}
	if o.out == "" {
		return o, fmt.Errorf("--out is required: the archive to write, such as dist/berth-image.oci.tar")
	}
	if len(o.spec.Platforms) == 0 {
		return o, fmt.Errorf("--binaries is required: linux/amd64=DIR, DIR holding berth and berth-runtime")
	}
	if err := checkDistinctPlatforms(o.spec.Platforms); err != nil {
		return o, err
	}

	if o.name == "" {
		o.name = "berth:latest"
		if o.spec.Version != "" {
			o.name = "berth:" + o.spec.Version
		}
	}
	if !namePattern.MatchString(o.name) {
		return o, fmt.Errorf("--name %q is not an image name such as berth:0.1.0 or example.org/team/berth:v1 "+
			"(lowercase name; the tag takes letters, digits, '_', '.' and '-', at most 128)", o.name)
	}

	secs := int64(0)
	if created != "" {
		var err error
		if secs, err = strconv.ParseInt(created, 10, 64); err != nil || secs < 0 {
			return o, fmt.Errorf("--created (or SOURCE_DATE_EPOCH) %q is not a number of seconds since 1970, such as $(git log -1 --format=%%ct)", created)
		}
	}
	o.spec.Created = time.Unix(secs, 0).UTC()
	return o, nil
}

// parsePlatformBinaries parses "linux/ARCH=DIR".
func parsePlatformBinaries(v string) (PlatformBinaries, error) {
	plat, dir, ok := strings.Cut(v, "=")
	osName, arch, ok2 := strings.Cut(plat, "/")
	if !ok || !ok2 || dir == "" {
		return PlatformBinaries{}, fmt.Errorf("%q is not linux/ARCH=DIR, such as linux/amd64=/tmp/amd64", v)
	}
	if osName != "linux" {
		return PlatformBinaries{}, fmt.Errorf("%q: only linux images are built; use linux/amd64 or linux/arm64", v)
	}
	if _, ok := elfMachines[arch]; !ok {
		return PlatformBinaries{}, fmt.Errorf("%q: architecture %q is not supported; use linux/amd64 or linux/arm64", v, arch)
	}
	return PlatformBinaries{Platform: v1.Platform{OS: osName, Architecture: arch}, Dir: dir}, nil
}

func checkDistinctPlatforms(pbs []PlatformBinaries) error {
	seen := map[string]bool{}
	for _, pb := range pbs {
		p := pb.Platform.String()
		if seen[p] {
			return fmt.Errorf("--binaries names %s twice; give each platform once", p)
		}
		seen[p] = true
	}
	return nil
}

// run writes the archive and prints its digest on stdout.
func run(o options, stdout io.Writer) error {
	tmp, err := os.MkdirTemp("", "berth-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	o.spec.TempDir = tmp

	digest, err := writeArchive(o.out, o.name, o.spec)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, digest)
	return err
}
