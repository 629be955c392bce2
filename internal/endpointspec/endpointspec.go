// Package endpointspec parses and validates the Azure ML CLI v2 files of real-time inference:
// online endpoints (kubernetesOnlineEndpoint and managedOnlineEndpoint shapes), online
// deployments (kubernetesOnlineDeployment) and models (az ml model create -f model.yml).
//
// Like jobspec, whose machinery it shares through strictyaml, it runs in the CLI before anything
// is uploaded and on the server, which has the last word; it reads only the bytes it is given.
// Parsing is strict: unknown fields, wrong kinds and values berth cannot serve are errors that
// name the line and say what to do, all of a file's problems are reported at once, and a field
// Azure ML accepts but berth does not yet is refused by name rather than ignored.
package endpointspec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// Options change a file as the CLI's flags do, before validation.
type Options struct {
	// Name overrides the file's name when non-empty (the CLI's --name).
	Name string
	// Set holds "dotted.path=value" overrides (the CLI's --set), applied to the YAML tree
	// before validation, as jobspec.Options.Set.
	Set []string
}

// ParseError lists every problem found in a file; it is the same type as jobspec's.
type ParseError = strictyaml.ParseError

// Problem is one thing wrong with a file; it is the same type as jobspec's.
type Problem = strictyaml.Problem

// LocalPath is a path in a deployment that names something on the user's machine, which the
// CLI uploads with the deployment; it is the same type as jobspec's. Part is "code" or "model".
type LocalPath = strictyaml.LocalPath

// decoder reads one file; the generic reading comes from strictyaml.
type decoder struct {
	*strictyaml.Decoder
}

// parse reads data as a file of format f with read, after applying opts.
func parse[T any](data []byte, opts Options, f strictyaml.Format,
	read func(decoder, *yaml.Node) *T) (*T, error) {
	d := decoder{strictyaml.NewDecoder(f)}
	root := d.ReadYAML(data)
	d.ApplySets(root, opts.Set)
	if opts.Name != "" {
		d.Override(root, []string{"name"}, opts.Name)
	}
	var spec *T
	if root != nil {
		spec = read(d, root)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return spec, nil
}

// onlineName is Azure ML's rule for endpoint and deployment names, which become host names and
// Kubernetes object names: 3 to 32 characters, letters, digits and '-', starting with a letter
// and ending with a letter or digit.
var onlineName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$`)

// onlineNameProblem returns what is wrong with an endpoint or deployment name (what says
// which), or "" when it is valid.
func onlineNameProblem(what, name string) string {
	if onlineName.MatchString(name) {
		return ""
	}
	return fmt.Sprintf("%q is not a valid %s name; use 3 to 32 letters, digits and -, starting "+
		"with a letter and ending with a letter or digit", strictyaml.Excerpt(name, 60), what)
}

// requiredName reads a required endpoint or deployment name. missing is the message when
// there is none.
func (d decoder) requiredName(v *yaml.Node, field, what, missing string) string {
	name, n, ok := d.Str(v, field)
	switch {
	case !ok && strictyaml.IsNull(n) && !d.Suggested(field):
		d.Addf(n, field, "%s", missing)
	case ok:
		if msg := onlineNameProblem(what, name); msg != "" {
			d.Addf(n, field, "%s", msg)
		}
	}
	return name
}

// tags reads the tags of any of the files.
func (d decoder) tags(v *yaml.Node) map[string]string {
	return d.StringMap(v, "tags", "a mapping of tag names to values", nil)
}

// intRange describes the whole numbers a field accepts, for reading and for its message.
type intRange struct {
	// want describes the values, as in "expected <want>, found 0".
	want     string
	min, max int
	// bounded is false when there is no maximum.
	bounded bool
}

// boundedInt reads a whole number within r. ok is false when the field is absent or wrong
// (reported).
func (d decoder) boundedInt(v *yaml.Node, field string, r intRange) (int, *yaml.Node, bool) {
	i, n, ok := d.Integer(v, field, r.want)
	if ok && (i < r.min || r.bounded && i > r.max) {
		d.Addf(n, field, "expected %s, found %d", r.want, i)
		return i, n, false
	}
	return i, n, ok
}

// enum reads a value that must be one of valid, in any case; it returns the value in lower
// case, or "" when absent or wrong (reported). unsupported maps values Azure ML accepts but
// berth does not yet to their message.
func (d decoder) enum(v *yaml.Node, field, what string, valid []string,
	unsupported map[string]string) (string, *yaml.Node) {
	s, n, ok := d.Str(v, field)
	if !ok {
		return "", n
	}
	lower := strings.ToLower(s)
	switch {
	case slices.Contains(valid, lower):
		return lower, n
	case unsupported[lower] != "":
		d.Addf(n, field, "%s", unsupported[lower])
	default:
		d.Addf(n, field, "%s", unknownEnum(what, s, valid))
	}
	return "", n
}

// unknownEnum says that value is not one of valid, matching in any case.
func unknownEnum(what, value string, valid []string) string {
	if c := strictyaml.Closest(strings.ToLower(value), valid); c != "" {
		return fmt.Sprintf("unknown %s %q; did you mean %q?", what, strictyaml.Excerpt(value, 40), c)
	}
	return fmt.Sprintf("unknown %s %q; use one of: %s", what, strictyaml.Excerpt(value, 40),
		strings.Join(valid, ", "))
}

// LocalPaths lists the paths in the deployment that point at the user's machine and so must be
// uploaded with it, sorted by Part: "code" (code_configuration.code) and "model" (an inline
// model's path). References to registered models and remote paths are left out.
func LocalPaths(d *v1.OnlineDeploymentSpec) []LocalPath {
	if d == nil {
		return nil
	}
	var paths []LocalPath
	if c := d.CodeConfiguration; c != nil && strictyaml.IsLocalPath(c.Code) {
		paths = append(paths, LocalPath{Part: "code", Path: strictyaml.LocalPart(c.Code)})
	}
	if m := d.Model; m != nil && m.Ref == "" && strictyaml.IsLocalPath(m.Path) {
		paths = append(paths, LocalPath{Part: "model", Path: strictyaml.LocalPart(m.Path)})
	}
	return paths
}
