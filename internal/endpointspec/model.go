package endpointspec

import (
	"fmt"
	"regexp"
	"strings"

	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// ModelSpec is what a model file (az ml model create -f model.yml) says.
type ModelSpec struct {
	Name string `json:"name"`
	// Version is empty when the file gives none; the server then takes the next one.
	Version string `json:"version,omitempty"`
	// Path is as written: a local file or folder (relative to the model file, or absolute, with
	// or without "file:"), or a job output, azureml://jobs/<job>/outputs/<name>.
	Path string `json:"path"`
	// Type is custom_model (the default) or mlflow_model.
	Type        string            `json:"type"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

var modelFormat = strictyaml.Format{
	Noun:          "model",
	FieldsExample: "name: and path:",
	SetExample:    "version=2",
}

var modelSchema = strictyaml.Schema{
	Fields: []string{"$schema", "name", "version", "type", "path", "description", "tags"},
	Unsupported: map[string]string{
		"stage": "model stages are not supported yet; remove stage, and use tags to mark a " +
			"model's stage",
		"properties": "model properties are not supported yet; remove properties, and use " +
			"tags for key-value metadata",
		"flavors": "MLflow flavors are not supported yet; remove flavors",
	},
}

// Model types.
const (
	CustomModel = "custom_model"
	MLflowModel = "mlflow_model"
)

var modelTypes = []string{CustomModel, MLflowModel}

var unsupportedModelTypes = map[string]string{
	"triton_model": "triton_model models are not supported yet; use custom_model or mlflow_model",
}

// ParseModel parses and validates a model file. On failure the error is a *ParseError listing
// every problem found.
//
// A parsed model has a valid Name, a Version that is empty or valid, a Path that is a local
// path or a job output, and a Type of custom_model or mlflow_model.
func ParseModel(data []byte, opts Options) (*ModelSpec, error) {
	return parse(data, opts, modelFormat, decoder.modelFile)
}

func (d decoder) modelFile(root *yaml.Node) *ModelSpec {
	f := d.Fields(root, "", modelSchema)
	spec := &ModelSpec{Type: CustomModel}
	name, nn, ok := d.Str(f["name"].Value, "name")
	switch {
	case ok:
		if msg := modelNameProblem(name); msg != "" {
			d.Addf(nn, "name", "%s", msg)
		}
		spec.Name = name
	case strictyaml.IsNull(nn) && !d.Suggested("name"):
		d.Addf(nn, "name", "the model has no name; add one, such as name: iris")
	}
	if version, vn, ok := d.Str(f["version"].Value, "version"); ok {
		if msg := versionProblem(version); msg != "" {
			d.Addf(vn, "version", "%s", msg)
		}
		spec.Version = version
	}
	if typ, _ := d.modelType(f["type"].Value, "type"); typ != "" {
		spec.Type = typ
	}
	p, pn, ok := d.Str(f["path"].Value, "path")
	switch {
	case ok:
		if msg := modelPathProblem(p); msg != "" {
			d.Addf(pn, "path", "%s", msg)
		}
		spec.Path = p
	case strictyaml.IsNull(pn) && !d.Suggested("path"):
		d.Addf(pn, "path", "the model has no path; add one, such as path: ./model, or a job's "+
			"output, such as path: azureml://jobs/<job>/outputs/<name>")
	}
	spec.Description, _, _ = d.Str(f["description"].Value, "description")
	spec.Tags = d.tags(f["tags"].Value)
	return spec
}

// modelType reads a model's type. Types are case-sensitive in Azure ML, so they are here.
func (d decoder) modelType(v *yaml.Node, field string) (string, *yaml.Node) {
	typ, n, ok := d.Str(v, field)
	switch {
	case !ok:
		return "", n
	case typ == CustomModel || typ == MLflowModel:
		return typ, n
	case unsupportedModelTypes[typ] != "":
		d.Addf(n, field, "%s", unsupportedModelTypes[typ])
	default:
		d.Addf(n, field, "%s", strictyaml.UnknownValue("model type", typ, modelTypes))
	}
	return "", n
}

// assetName is Azure ML's rule for the names and versions of registered assets.
var assetName = regexp.MustCompile(`^` + strictyaml.AssetName + `$`)

// modelNameProblem returns what is wrong with a model name, or "". Model names appear in
// azureml:<name>:<version> references, so they keep to the characters those allow.
func modelNameProblem(name string) string {
	if len(name) > strictyaml.MaxNameLength {
		return fmt.Sprintf("the model name is %d characters long; use at most %d", len(name),
			strictyaml.MaxNameLength)
	}
	if !assetName.MatchString(name) {
		return fmt.Sprintf("%q is not a valid model name; use letters, digits, _, - and ., "+
			"starting with a letter or digit", strictyaml.Excerpt(name, 60))
	}
	return ""
}

// versionProblem returns what is wrong with a model version, or "".
func versionProblem(version string) string {
	if len(version) > strictyaml.MaxNameLength {
		return fmt.Sprintf("the version is %d characters long; use at most %d", len(version),
			strictyaml.MaxNameLength)
	}
	if !assetName.MatchString(version) {
		return fmt.Sprintf("%q is not a valid version; use letters, digits, _, - and ., "+
			"starting with a letter or digit, such as 1", strictyaml.Excerpt(version, 60))
	}
	return ""
}

// modelPathProblem returns what is wrong with a model file's path, or "".
func modelPathProblem(p string) string {
	const instead = "give a local file or folder, or a job's output, such as " +
		"azureml://jobs/<job>/outputs/<name>"
	s := strictyaml.Scheme(p)
	rest, isURL := strings.CutPrefix(strings.TrimPrefix(p, s+":"), "//")
	switch {
	case p == "":
		return "is empty; " + instead
	case strings.EqualFold(s, "file") && strictyaml.LocalPart(p) == "":
		return `the path after "file:" is empty; give a local file or folder, such as file:./model`
	case strictyaml.IsLocalPath(p):
		return ""
	case s == "azureml" && !isURL:
		return fmt.Sprintf("%q names a registered asset, not a path; %s",
			strictyaml.Excerpt(p, 60), instead)
	case s == "azureml" && strictyaml.IsJobOutput(rest):
		return ""
	case s == "azureml":
		return "azureml:// paths other than job outputs are not supported yet; " + instead
	}
	return fmt.Sprintf("%q paths are not supported yet; %s", strictyaml.Excerpt(s, 20)+":",
		instead)
}
