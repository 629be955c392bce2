package jobspec

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
)

// LocalPath is a path in a job spec that names something on the user's machine, which the CLI
// uploads with the job. Part is "code" or "inputs.<name>": the name of the multipart part that
// carries the upload. Path is as written in the YAML (relative to the YAML file's folder, or
// absolute), without a "file:" prefix.
type LocalPath = strictyaml.LocalPath

// LocalPaths lists the paths in the spec that point at the user's machine and so must be
// uploaded with the job, sorted by Part. Literal inputs and remote paths are left out.
func LocalPaths(spec *v1.JobSpec) []LocalPath {
	if spec == nil {
		return nil
	}
	var paths []LocalPath
	if IsLocalPath(spec.Code) {
		paths = append(paths, LocalPath{Part: "code", Path: strictyaml.LocalPart(spec.Code)})
	}
	for name, in := range spec.Inputs {
		if !in.IsLiteral() && IsLocalPath(in.Path) {
			paths = append(paths, LocalPath{Part: "inputs." + name, Path: strictyaml.LocalPart(in.Path)})
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
	return strictyaml.IsLocalPath(p)
}

// pathProblem returns what is wrong with the path of an input of type typ, or "" when berth can
// fetch it. Remote stores that the runtime cannot read yet are refused here, at submission, not
// when the job starts.
func pathProblem(typ, p string) string {
	const instead = "give a local path, an http(s) URL or a job output such as " +
		"azureml://jobs/<job>/outputs/<name>"
	s := strings.ToLower(strictyaml.Scheme(p))
	if s != strictyaml.Scheme(p) && s != "file" {
		// The runtime matches http://, https:// and azureml:// as written.
		return fmt.Sprintf("write the scheme %q in lower case, as %s:", strictyaml.Scheme(p), s)
	}
	switch s {
	case "":
		return ""
	case "file":
		if strictyaml.LocalPart(p) == "" {
			return `the path after "file:" is empty; give a local file or folder, such as file:./data`
		}
		return ""
	case "http", "https":
		if u, err := url.Parse(p); err != nil || u.Host == "" {
			return fmt.Sprintf("%q is not a valid URL; give a URL such as https://example.com/data.csv",
				strictyaml.Excerpt(p, 60))
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
		if !strictyaml.IsJobOutput(rest) {
			return "azureml:// paths other than job outputs (azureml://jobs/<job>/outputs/<name>) " +
				"are not supported yet; " + instead
		}
		return ""
	default:
		return fmt.Sprintf("%q paths are not supported yet; %s", p[:len(s)+1], instead)
	}
}

// codeProblem returns what is wrong with the code path, or "" when it is a local file or folder.
func codeProblem(p string) string {
	switch {
	case strings.EqualFold(strictyaml.Scheme(p), "file") && strictyaml.LocalPart(p) == "":
		return `the path after "file:" is empty; give a local folder, such as file:./src`
	case !IsLocalPath(p):
		return "code must be a local folder or file, relative to the job file; code assets and " +
			"URLs are not supported yet"
	}
	return ""
}
