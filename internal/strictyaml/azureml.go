package strictyaml

import (
	"bytes"
	"regexp"
	"strings"

	v1 "berth/api/v1"
	"go.yaml.in/yaml/v3"
)

// This file reads the fields that several Azure ML CLI v2 file shapes share (commandJob and
// kubernetesOnlineDeployment both have an environment; jobs and endpoints a compute), so that
// they read the same in every file.

// Compute reads the name of a compute target: "local" unless the file names another. az
// accepts a bare name as well as azureml:<name>.
func (d *Decoder) Compute(v *yaml.Node, field string) string {
	c, n, ok := d.Str(v, field)
	if !ok || c == "" {
		return "local"
	}
	name := strings.TrimPrefix(c, "azureml:")
	if NameProblem("compute", name) != "" {
		d.Addf(n, field, "%q does not name a compute; use local or azureml:<name>, where the "+
			"name has only letters, digits, _ and -", Excerpt(c, 60))
	}
	return name
}

var environmentSchema = Schema{
	Fields: []string{"image", "conda_file", "name", "version", "description"},
	Unsupported: map[string]string{
		"build": "building an environment's image is not supported yet; build and push the " +
			"image, then give it as image",
	},
}

// AssetName matches the names, versions and labels of registered assets.
const AssetName = `[A-Za-z0-9][A-Za-z0-9_.-]*`

// environmentRef matches azureml:<name>:<version> and azureml:<name>@<label>.
var environmentRef = regexp.MustCompile(`^azureml:` + AssetName + `(:|@)` + AssetName + `$`)

// registryRef matches the registry references Azure's examples use for curated environments,
// azureml://registries/<registry>/environments/<name>/(versions/<version>|labels/<label>).
// They are recorded as they are; the server decides what they resolve to.
var registryRef = regexp.MustCompile(`^azureml://registries/` + AssetName + `/environments/` +
	AssetName + `/(versions|labels)/` + AssetName + `$`)

// Environment reads an environment: a reference to a registered one, or inline.
func (d *Decoder) Environment(v *yaml.Node, field string) *v1.Environment {
	n := d.Resolve(v)
	switch {
	case IsNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		if !environmentRef.MatchString(n.Value) && !registryRef.MatchString(n.Value) {
			d.Addf(n, field, "%q is not an environment reference; use "+
				"azureml:<name>:<version> or azureml:<name>@latest, or a mapping with an image",
				Excerpt(n.Value, 60))
		}
		return &v1.Environment{Ref: n.Value}
	case n.Kind != yaml.MappingNode:
		d.Addf(n, field, "expected an environment reference such as "+
			"azureml:sklearn-env:1, or a mapping with an image; found %s", Describe(n))
		return nil
	}

	f := d.Fields(n, field, environmentSchema)
	env := &v1.Environment{}
	imageField := Join(field, "image")
	image, imageNode, ok := d.Str(f["image"].Value, imageField)
	switch {
	case ok && image == "":
		d.Addf(imageNode, imageField, "is empty; give an image, such as python:3.12-slim")
	case !ok && IsNull(imageNode) && !d.Suggested(imageField):
		d.Addf(n, field, "an inline environment needs an image; add image:, such as "+
			"image: python:3.12-slim")
	}
	env.Image = image
	env.CondaFile = d.condaFile(f["conda_file"].Value, Join(field, "conda_file"))
	env.Name, _, _ = d.Str(f["name"].Value, Join(field, "name"))
	env.Version, _, _ = d.Str(f["version"].Value, Join(field, "version"))
	env.Description, _, _ = d.Str(f["description"].Value, Join(field, "description"))
	return env
}

// condaFile reads a conda file: a path, kept as it is, or an inline mapping, kept as YAML text
// (which always holds a newline, so the two cannot be confused).
func (d *Decoder) condaFile(v *yaml.Node, field string) string {
	n := d.Resolve(v)
	switch {
	case IsNull(n):
		return ""
	case n.Kind == yaml.ScalarNode:
		if strings.ContainsAny(n.Value, "\n\x00") {
			d.Addf(n, field, "expected a path or a mapping, found a text of several lines; "+
				"write the conda file as a mapping, or give its path")
		}
		return n.Value
	case n.Kind != yaml.MappingNode:
		d.Addf(n, field, "expected a path or a mapping, found %s", Describe(n))
		return ""
	}
	expanded := d.Expand(n)
	if expanded == nil {
		return ""
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(expanded); err != nil {
		d.Addf(n, field, "cannot be written back as YAML (%v); give its path instead", err)
		return ""
	}
	return b.String()
}
