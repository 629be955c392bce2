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
	src := writeTree(t, map[string]string{"a.txt": "alpha", "sub/b.txt": "beta"})
	files, _ := Collect(src)
	var buf bytes.Buffer
	if err := Write(&buf, files); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := artifacts.FS{Root: t.TempDir()}
	n, err := ToStore(ctx, &buf, store, "jobs/j/uploads/code")
	if err != nil || n != 2 {
		t.Fatalf("ToStore: %d, %v", n, err)
	}
	var packed bytes.Buffer
	if err := FromStore(ctx, &packed, store, "jobs/j/uploads/code"); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := ToDir(&packed, out); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(out, "sub", "b.txt"))
	if string(got) != "beta" {
		t.Fatalf("round trip gave %q", got)
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
