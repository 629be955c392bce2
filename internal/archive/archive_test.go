package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"berth/internal/artifacts"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func names(files []File) string {
	var n []string
	for _, f := range files {
		n = append(n, f.Name)
	}
	sort.Strings(n)
	return strings.Join(n, " ")
}

func TestCollectHonoursIgnoreFiles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"gitignore at the root", map[string]string{".gitignore": "*.log\nbuild/\n", "a.py": "", "x.log": "", "build/out": "", "sub/b.log": ""},
			".gitignore a.py"},
		{"amlignore wins over gitignore", map[string]string{".amlignore": "data/\n", ".gitignore": "*.py\n", "a.py": "", "data/big.csv": ""},
			".amlignore .gitignore a.py"},
		{"nested ignore file applies below its folder", map[string]string{"sub/.gitignore": "secret.txt\n", "sub/secret.txt": "", "secret.txt": ""},
			"secret.txt sub/.gitignore"},
		{"negation keeps a file", map[string]string{".gitignore": "*.csv\n!keep.csv\n", "drop.csv": "", "keep.csv": ""},
			".gitignore keep.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := Collect(writeTree(t, tt.files))
			if err != nil {
				t.Fatal(err)
			}
			if got := names(files); got != tt.want {
				t.Errorf("collected %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCollectOneFile(t *testing.T) {
	dir := writeTree(t, map[string]string{"d/iris.csv": "1,2"})
	files, err := Collect(filepath.Join(dir, "d", "iris.csv"))
	if err != nil || names(files) != "iris.csv" || files[0].Size != 3 {
		t.Fatalf("%+v, %v", files, err)
	}
}

func TestRoundTripThroughStoreAndDir(t *testing.T) {
	src := writeTree(t, map[string]string{"a.txt": "alpha", "sub/b.txt": "beta", "run.sh": "#!/bin/sh\n"})
	os.Chmod(filepath.Join(src, "run.sh"), 0o755)
	files, _ := Collect(src)
	var buf bytes.Buffer
	if err := Write(&buf, files); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := artifacts.FS{Root: t.TempDir()}
	names, err := StoreTar(ctx, &buf, store, "jobs/j/uploads/code.tar")
	if err != nil || strings.Join(names, " ") != "a.txt run.sh sub/b.txt" {
		t.Fatalf("StoreTar: %v, %v", names, err)
	}
	out := t.TempDir()
	if err := UnpackFromStore(ctx, store, "jobs/j/uploads/code.tar", out); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(out, "sub", "b.txt"))
	if string(got) != "beta" {
		t.Fatalf("round trip gave %q", got)
	}
	if info, err := os.Stat(filepath.Join(out, "run.sh")); err != nil || info.Mode().Perm()&0o100 == 0 {
		t.Fatalf("the executable bit was lost: %v %v", info.Mode(), err)
	}
	// A stream with a bad entry stores nothing.
	bad := tarOf(t, tar.Header{Name: "ok", Typeflag: tar.TypeReg}, tar.Header{Name: "../evil", Typeflag: tar.TypeReg})
	if _, err := StoreTar(ctx, bytes.NewReader(bad), store, "jobs/j/uploads/bad.tar"); err == nil {
		t.Fatal("a bad stream was stored")
	}
	if _, err := store.Open(ctx, "jobs/j/uploads/bad.tar"); err == nil {
		t.Fatal("a refused stream left a blob")
	}
}

func tarOf(t testing.TB, entries ...tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h.Size = int64(len("x"))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		tw.WriteHeader(&h)
		if h.Size > 0 {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestToDirRefusesEscapes(t *testing.T) {
	tests := []struct {
		name string
		hdr  tar.Header
		want string
	}{
		{"parent folder", tar.Header{Name: "../evil", Typeflag: tar.TypeReg}, `archive entry "../evil" is not a relative path inside its folder`},
		{"absolute", tar.Header{Name: "/etc/passwd", Typeflag: tar.TypeReg}, `archive entry "/etc/passwd" is not a relative path inside its folder`},
		{"climbs after a folder", tar.Header{Name: "a/../../evil", Typeflag: tar.TypeReg}, `archive entry "a/../../evil" is not a relative path inside its folder`},
		{"symlink", tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, `archive entry "link" is a link or special file; only regular files are accepted`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			err := ToDir(bytes.NewReader(tarOf(t, tt.hdr)), filepath.Join(parent, "out"))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(parent, "evil")); !os.IsNotExist(err) {
				t.Fatal("an entry escaped its folder")
			}
		})
	}
}

// FuzzToDir checks that no stream, however crafted, writes outside the target folder.
func FuzzToDir(f *testing.F) {
	f.Add(tarOf(f, tar.Header{Name: "ok.txt", Typeflag: tar.TypeReg}))
	f.Add(tarOf(f, tar.Header{Name: "../x", Typeflag: tar.TypeReg}))
	f.Add(tarOf(f, tar.Header{Name: "a/./b/../c", Typeflag: tar.TypeReg}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		ToDir(bytes.NewReader(data), out)
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if e.Name() != "out" {
				t.Fatalf("wrote %s outside the target folder", e.Name())
			}
		}
	})
}

func TestCollectFollowsLinks(t *testing.T) {
	dir := writeTree(t, map[string]string{"data/x.csv": "1", "real.txt": "r"})
	os.Symlink("real.txt", filepath.Join(dir, "link.txt"))
	os.Symlink("data", filepath.Join(dir, "datalink"))
	files, err := Collect(dir)
	if err != nil || names(files) != "data/x.csv datalink/x.csv link.txt real.txt" {
		t.Fatalf("%q, %v", names(files), err)
	}
	os.Symlink("missing", filepath.Join(dir, "broken"))
	if _, err := Collect(dir); err == nil || !strings.HasSuffix(err.Error(), "broken is a broken symbolic link; remove it, or list it in .amlignore") {
		t.Fatalf("broken link: %v", err)
	}
	os.Remove(filepath.Join(dir, "broken"))
	os.Symlink(".", filepath.Join(dir, "data", "loop"))
	if _, err := Collect(dir); err == nil || !strings.HasSuffix(err.Error(), "loop links to a folder that contains it; remove the link, or list it in .amlignore") {
		t.Fatalf("loop: %v", err)
	}
}
