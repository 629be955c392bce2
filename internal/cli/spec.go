package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"berth/internal/archive"
	"berth/internal/client"
)

// specSource is a resource's YAML as the CLI sends it: the file the user gave, or "{}" when
// flags alone describe the resource; and the folder its relative paths start from.
type specSource struct {
	yaml string
	base string
}

// readSpec reads --file, or starts from an empty mapping.
func readSpec(file string) (specSource, error) {
	if file == "" {
		return specSource{yaml: "{}\n"}, nil // paths are relative to the current folder
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return specSource{}, usageErrorf("cannot read %s: %v", file, err)
	}
	return specSource{yaml: string(data), base: filepath.Dir(file)}, nil
}

// setFlag turns a flag's value into a --set entry, quoted so that the value is taken as text.
func setFlag(path, value string) string {
	return path + "=" + strconv.Quote(value)
}

// localPath is a local path named in a file, found on disk.
type localPath struct {
	part string // the upload part: "code", "model", "inputs.<name>"
	path string // as the file wrote it
	abs  string
	info os.FileInfo
}

// findLocal finds a path that a file of kind noun ("job", "deployment") names, relative to
// the file's folder base.
func findLocal(part, path, base, noun string) (localPath, error) {
	p := path
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	info, err := os.Stat(p)
	if err != nil {
		where := "the " + noun + " file's folder"
		if base == "" {
			where = "the current folder"
		}
		return localPath{}, usageErrorf("%s: path %s does not exist (looked for %s, relative to %s)", part, path, p, where)
	}
	return localPath{part: part, path: path, abs: p, info: info}, nil
}

// upload packs a local path. A folder's entries go under its own name when underName is set
// (a model folder keeps its name, as AZUREML_MODEL_DIR shows it).
func (l localPath) upload(underName bool) (client.Upload, error) {
	part, p, info := l.part, l.abs, l.info
	files, err := archive.Collect(p)
	if err != nil {
		return client.Upload{}, fmt.Errorf("%s: reading %s: %w", part, p, err)
	}
	if info.IsDir() && underName {
		for i := range files {
			files[i].Name = filepath.Base(p) + "/" + files[i].Name
		}
	}
	if len(files) == 0 && part != "code" {
		return client.Upload{}, usageErrorf("%s: %s is empty; it must hold at least one file", part, p)
	}
	return client.Upload{Part: part, Files: files}, nil
}

// toYAML renders a value as YAML text.
func toYAML(v any) (string, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return b.String(), enc.Close()
}
