package strictyaml

import "strings"

// IsLocalPath reports whether a path names a local file or folder: one without a URL scheme
// (http://, https://, azureml:, azureml://, s3:// and any other), or one with the "file:"
// scheme. A single letter before a colon is a Windows drive (C:\data), so it counts as local.
// The empty string, and "file:" alone, name nothing and are not local.
func IsLocalPath(p string) bool {
	switch s := Scheme(p); {
	case s == "":
		return p != ""
	case strings.EqualFold(s, "file"):
		return LocalPart(p) != ""
	}
	return false
}

// Scheme returns the URL scheme of p ("https", "azureml"), or "" when p has none.
func Scheme(p string) string {
	i := strings.IndexByte(p, ':')
	if i < 2 {
		return ""
	}
	for j := 0; j < i; j++ {
		c := p[j]
		if !IsLetter(c) && (j == 0 || !IsDigit(c) && c != '+' && c != '-' && c != '.') {
			return ""
		}
	}
	return p[:i]
}

// LocalPart strips a "file:" or "file://" prefix from a local path.
func LocalPart(p string) string {
	if s := Scheme(p); s != "" {
		p = strings.TrimPrefix(p[len(s)+1:], "//")
	}
	return p
}

// IsJobOutput reports whether rest (what follows "azureml://") names a job's output, as
// jobs/<job>/outputs/<name>.
func IsJobOutput(rest string) bool {
	parts := strings.Split(rest, "/")
	return len(parts) == 4 && parts[0] == "jobs" && parts[2] == "outputs" &&
		NameProblem("job", parts[1]) == "" && IdentifierProblem("output", parts[3]) == ""
}

// LocalPath is a path in a file that names something on the user's machine, which the CLI
// uploads with the file's resource.
type LocalPath struct {
	// Part is the name of the multipart part that carries the upload, such as "code".
	Part string
	// Path is as written in the YAML (relative to the YAML file's folder, or absolute), without
	// a "file:" prefix.
	Path string
}
