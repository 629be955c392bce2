package jobspec

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	v1 "berth/api/v1"
)

// LocalPath is a path in a job spec that names something on the user's machine, which the CLI
// uploads with the job.
type LocalPath struct {
	// Part is "code" or "inputs.<name>": the name of the multipart part that carries the upload.
	Part string
	// Path is as written in the YAML (relative to the YAML file's folder, or absolute), without
	// a "file:" prefix.
	Path string
}

// LocalPaths lists the paths in the spec that point at the user's machine and so must be
// uploaded with the job, sorted by Part. Literal inputs and remote paths are left out.
func LocalPaths(spec *v1.JobSpec) []LocalPath {
	if spec == nil {
		return nil
	}
	var paths []LocalPath
	if IsLocalPath(spec.Code) {
		paths = append(paths, LocalPath{Part: "code", Path: localPart(spec.Code)})
	}
	for name, in := range spec.Inputs {
		if !in.IsLiteral() && IsLocalPath(in.Path) {
			paths = append(paths, LocalPath{Part: "inputs." + name, Path: localPart(in.Path)})
		}
	}
	slices.SortFunc(paths, func(a, b LocalPath) int { return strings.Compare(a.Part, b.Part) })
	return paths
}

// IsLocalPath reports whether a path names a local file or folder: one without a URL scheme
// (http://, https://, azureml:, azureml://, s3:// and any other), or one with the "file:"
// scheme. A single letter before a colon is a Windows drive (C:\data), so it counts as local.
// The empty string, and "file:" alone, name nothing and are not local.
func IsLocalPath(p string) bool {
	switch s := scheme(p); {
	case s == "":
		return p != ""
	case strings.EqualFold(s, "file"):
		return localPart(p) != ""
	}
	return false
}

// scheme returns the URL scheme of p ("https", "azureml"), or "" when p has none.
func scheme(p string) string {
	i := strings.IndexByte(p, ':')
	if i < 2 {
		return ""
	}
	for j := 0; j < i; j++ {
		c := p[j]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !isDigit(c) && c != '+' && c != '-' && c != '.') {
			return ""
		}
	}
	return p[:i]
}

// localPart strips a "file:" or "file://" prefix from a local path.
func localPart(p string) string {
	if s := scheme(p); s != "" {
		p = strings.TrimPrefix(p[len(s)+1:], "//")
	}
	return p
}

// pathProblem returns what is wrong with the path of an input of type typ, or "" when berth can
// fetch it. Remote stores that the runtime cannot read yet are refused here, at submission, not
// when the job starts.
func pathProblem(typ, p string) string {
	const instead = "give a local path, an http(s) URL or a job output such as " +
		"azureml://jobs/<job>/outputs/<name>"
	s := strings.ToLower(scheme(p))
	if s != scheme(p) && s != "file" {
		// The runtime matches http://, https:// and azureml:// as written.
		return fmt.Sprintf("write the scheme %q in lower case, as %s:", scheme(p), s)
	}
	switch s {
	case "":
		return ""
	case "file":
		if localPart(p) == "" {
			return `the path after "file:" is empty; give a local file or folder, such as file:./data`
		}
		return ""
	case "http", "https":
		if u, err := url.Parse(p); err != nil || u.Host == "" {
			return fmt.Sprintf("%q is not a valid URL; give a URL such as https://example.com/data.csv",
				excerpt(p, 60))
		}
		if typ == v1.InputURIFolder {
			return "a folder cannot be fetched over HTTP; use type: uri_file for a single file, " +
				"or a local folder"
		}
		return ""
	case "azureml":
		rest, isURL := strings.CutPrefix(p[len(s)+1:], "//")
		if !isURL {
			return "data assets are not supported yet; " + instead
		}
		if !isJobOutput(rest) {
			return "azureml:// paths other than job outputs (azureml://jobs/<job>/outputs/<name>) " +
				"are not supported yet; " + instead
		}
		return ""
	default:
		return fmt.Sprintf("%q paths are not supported yet; %s", p[:len(s)+1], instead)
	}
}

// isJobOutput reports whether rest (what follows "azureml://") names a job's output, as
// jobs/<job>/outputs/<name>.
func isJobOutput(rest string) bool {
	parts := strings.Split(rest, "/")
	return len(parts) == 4 && parts[0] == "jobs" && parts[2] == "outputs" &&
		nameProblem("job", parts[1]) == "" && identifierProblem("output", parts[3]) == ""
}

// codeProblem returns what is wrong with the code path, or "" when it is a local file or folder.
func codeProblem(p string) string {
	switch {
	case strings.EqualFold(scheme(p), "file") && localPart(p) == "":
		return `the path after "file:" is empty; give a local folder, such as file:./src`
	case !IsLocalPath(p):
		return "code must be a local folder or file, relative to the job file; code assets and " +
			"URLs are not supported yet"
	}
	return ""
}
