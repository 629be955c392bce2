package endpointspec

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

var deploymentFormat = strictyaml.Format{
	Noun:          "deployment",
	FieldsExample: "endpoint_name: and model:",
	SetExample:    "instance_count=2",
}

var deploymentSchema = strictyaml.Schema{
	Fields: []string{
		"$schema", "name", "endpoint_name", "type", "description", "tags", "model",
		"code_configuration", "environment", "environment_variables", "instance_type",
		"instance_count", "request_settings", "liveness_probe", "readiness_probe", "resources",
		"scale_settings", "app_insights_enabled",
	},
	Unsupported: map[string]string{
		"data_collector": "collecting scoring data is not supported yet; remove data_collector",
		"egress_public_network_access": "egress_public_network_access is not supported yet; " +
			"remove it, and limit the deployment's outbound traffic with the cluster's network " +
			"policies",
		"private_network_connection": "private_network_connection is not supported yet; " +
			"remove it",
		"model_mount_path": "model_mount_path is not supported yet; remove it, and find the " +
			"model in the folder that AZUREML_MODEL_DIR names",
	},
}

var deploymentTypes = []string{"kubernetes", "managed"}

var instanceCountRange = intRange{want: "a whole number of instances, at least 1", min: 1}

// ParseDeployment parses and validates an online deployment file. On failure the error is a
// *ParseError listing every problem found.
//
// A parsed deployment has a valid Name and EndpointName; a CodeConfiguration with a Code folder
// and a ScoringScript inside it, as a clean relative path with forward slashes; a Model that is
// nil, a reference (Ref) or an inline Path; an InstanceCount of at least 1; RequestSettings and
// both probes with Azure ML's defaults where the file gives none; Resources whose quantities are
// valid Kubernetes quantities with no request above its limit; and ScaleSettings that are nil,
// of type default, or of type target_utilization with every field filled in.
func ParseDeployment(data []byte, opts Options) (*v1.OnlineDeploymentSpec, error) {
	return parse(data, opts, deploymentFormat, decoder.deployment)
}

func (d decoder) deployment(root *yaml.Node) *v1.OnlineDeploymentSpec {
	f := d.Fields(root, "", deploymentSchema)
	spec := &v1.OnlineDeploymentSpec{InstanceCount: 1}
	spec.Name = d.requiredName(f["name"].Value, "name", "deployment",
		"the deployment has no name; add one, such as name: blue")
	spec.EndpointName = d.requiredName(f["endpoint_name"].Value, "endpoint_name", "endpoint",
		"the deployment has no endpoint_name; add the name of its endpoint, such as "+
			"endpoint_name: my-endpoint")
	d.enum(f["type"].Value, "type", "deployment type", deploymentTypes, nil)
	spec.Description, _, _ = d.Str(f["description"].Value, "description")
	spec.Tags = d.tags(f["tags"].Value)
	spec.Model = d.model(f["model"].Value)
	spec.CodeConfiguration = d.codeConfiguration(f["code_configuration"])
	spec.Environment = d.Environment(f["environment"].Value, "environment")
	spec.EnvironmentVariables = d.StringMap(f["environment_variables"].Value,
		"environment_variables", "a mapping of variable names to values",
		strictyaml.VariableProblem)
	if t, n, ok := d.Str(f["instance_type"].Value, "instance_type"); ok {
		if t == "" {
			d.Addf(n, "instance_type", "is empty; name an instance type, or remove the field")
		}
		spec.InstanceType = t
	}
	count, countNode, hasCount := d.boundedInt(f["instance_count"].Value, "instance_count",
		instanceCountRange)
	if hasCount {
		spec.InstanceCount = count
	}
	spec.RequestSettings = d.requestSettings(f["request_settings"].Value)
	spec.LivenessProbe = d.probe(f["liveness_probe"].Value, "liveness_probe")
	spec.ReadinessProbe = d.probe(f["readiness_probe"].Value, "readiness_probe")
	spec.Resources = d.resources(f["resources"].Value)
	spec.ScaleSettings = d.scaleSettings(f["scale_settings"].Value)
	d.appInsights(f["app_insights_enabled"].Value)

	d.checkScale(spec, countNode, hasCount)
	return spec
}

// appInsights refuses Application Insights, which berth does not have; false asks for nothing
// and is accepted.
func (d decoder) appInsights(v *yaml.Node) {
	n := d.Resolve(v)
	if on, ok := d.Boolean(n, "app_insights_enabled"); ok && on {
		d.Addf(n, "app_insights_enabled", "Application Insights is not supported "+
			"yet; remove app_insights_enabled, or set it to false, and read the deployment's "+
			"logs and its /metrics instead")
	}
}

// modelRef matches azureml:<name>:<version> and azureml:<name>@latest.
var modelRef = regexp.MustCompile(`^azureml:` + strictyaml.AssetName + `(:` +
	strictyaml.AssetName + `|@latest)$`)

var inlineModelSchema = strictyaml.Schema{
	Fields: []string{"path", "name", "version", "type", "description"},
}

// model reads the deployment's model: a reference to a registered model, or an inline path
// uploaded with the deployment.
func (d decoder) model(v *yaml.Node) *v1.DeploymentModel {
	n := d.Resolve(v)
	switch {
	case strictyaml.IsNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		switch {
		case strings.HasPrefix(n.Value, "azureml://registries/"):
			d.Addf(n, "model", "models from registries are not supported yet; register the "+
				"model in the workspace, then use azureml:<name>:<version>")
		case !modelRef.MatchString(n.Value):
			d.Addf(n, "model", "%q is not a model reference; use azureml:<name>:<version> or "+
				"azureml:<name>@latest, or a mapping with a path, such as path: ./model",
				strictyaml.Excerpt(n.Value, 60))
		}
		return &v1.DeploymentModel{Ref: n.Value}
	case n.Kind != yaml.MappingNode:
		d.Addf(n, "model", "expected a model reference such as azureml:iris:1, or a mapping "+
			"with a path; found %s", strictyaml.Describe(n))
		return nil
	}

	f := d.Fields(n, "model", inlineModelSchema)
	m := &v1.DeploymentModel{}
	p, pn, ok := d.Str(f["path"].Value, "model.path")
	switch {
	case ok:
		if msg := inlinePathProblem(p); msg != "" {
			d.Addf(pn, "model.path", "%s", msg)
		}
		m.Path = p
	case strictyaml.IsNull(pn) && !d.Suggested("model.path"):
		d.Addf(n, "model", "an inline model needs a path; add path:, such as path: ./model, or "+
			"use a registered model, such as model: azureml:iris:1")
	}
	if name, nn, ok := d.Str(f["name"].Value, "model.name"); ok {
		if msg := modelNameProblem(name); msg != "" {
			d.Addf(nn, "model.name", "%s", msg)
		}
		m.Name = name
	}
	if version, vn, ok := d.Str(f["version"].Value, "model.version"); ok {
		if msg := versionProblem(version); msg != "" {
			d.Addf(vn, "model.version", "%s", msg)
		}
		m.Version = version
	}
	// The type and description describe the model, not how it is served: a deployment always
	// runs its scoring script, so they are checked and not kept.
	d.modelType(f["type"].Value, "model.type")
	d.Str(f["description"].Value, "model.description")
	return m
}

// inlinePathProblem returns what is wrong with an inline model's path, or "".
func inlinePathProblem(p string) string {
	switch {
	case p == "":
		return "is empty; give the model's file or folder, relative to the deployment file, " +
			"such as ./model"
	case strings.EqualFold(strictyaml.Scheme(p), "file") && strictyaml.LocalPart(p) == "":
		return `the path after "file:" is empty; give a local file or folder, such as file:./model`
	case !strictyaml.IsLocalPath(p):
		return fmt.Sprintf("%q is not a local path; an inline model is a file or folder "+
			"uploaded with the deployment, so give its local path, or register the model "+
			"(berth ml model create) and use azureml:<name>:<version>", strictyaml.Excerpt(p, 60))
	}
	return ""
}

var codeConfigurationSchema = strictyaml.Schema{Fields: []string{"code", "scoring_script"}}

// codeConfiguration reads the folder of the scoring code and the script in it, which berth
// needs: it serves a model by running its scoring script.
func (d decoder) codeConfiguration(e strictyaml.Entry) *v1.CodeConfiguration {
	n := d.Resolve(e.Value)
	m, ok := d.Mapping(n, "code_configuration", "a mapping with code and scoring_script")
	if !ok {
		// n is nil for a value too many aliases name, which is reported already.
		absent := e.Value == nil || n != nil && strictyaml.IsNull(n)
		if absent && !d.Suggested("code_configuration") {
			d.Addf(e.Key, "code_configuration", "the deployment has no code_configuration; "+
				"berth serves a model by running its scoring script (deployments without code, "+
				"which Azure ML makes for MLflow models, are not supported yet), so add "+
				"code_configuration with code (the folder) and scoring_script (the file in it, "+
				"such as score.py)")
		}
		return nil
	}
	f := d.Fields(m, "code_configuration", codeConfigurationSchema)
	cc := &v1.CodeConfiguration{}
	code, cn, ok := d.Str(f["code"].Value, "code_configuration.code")
	switch {
	case ok:
		if msg := codeProblem(code); msg != "" {
			d.Addf(cn, "code_configuration.code", "%s", msg)
		}
		cc.Code = code
	case strictyaml.IsNull(cn) && !d.Suggested("code_configuration.code"):
		d.Addf(m, "code_configuration", "has no code; add code:, the folder that holds the "+
			"scoring script, such as code: ./src")
	}
	script, sn, ok := d.Str(f["scoring_script"].Value, "code_configuration.scoring_script")
	switch {
	case ok:
		clean, msg := scriptPath(script)
		if msg != "" {
			d.Addf(sn, "code_configuration.scoring_script", "%s", msg)
		}
		cc.ScoringScript = clean
	case strictyaml.IsNull(sn) && !d.Suggested("code_configuration.scoring_script"):
		d.Addf(m, "code_configuration", "has no scoring_script; add scoring_script:, the file "+
			"in code that serves requests, such as scoring_script: score.py")
	}
	return cc
}

// codeProblem returns what is wrong with the code folder, or "" when it is a local path.
func codeProblem(p string) string {
	switch {
	case p == "":
		return "is empty; give the folder that holds the scoring script, such as ./src"
	case strings.EqualFold(strictyaml.Scheme(p), "file") && strictyaml.LocalPart(p) == "":
		return `the path after "file:" is empty; give a local folder, such as file:./src`
	case !strictyaml.IsLocalPath(p):
		return "code must be a local folder, relative to the deployment file; code assets and " +
			"URLs are not supported yet"
	}
	return ""
}

// scriptPath checks a scoring script's path, which is relative to the code folder and must
// stay inside it, and returns it cleaned, with forward slashes ("./score.py" is "score.py"),
// or what is wrong with it.
func scriptPath(p string) (string, string) {
	const instead = "give the script's path relative to the code folder, such as score.py"
	slashed := strings.ReplaceAll(p, `\`, "/")
	clean := path.Clean(slashed)
	switch {
	case p == "":
		return "", "is empty; " + instead
	case strings.ContainsAny(p, "\x00\n\r"):
		return "", fmt.Sprintf("%q is not a file name; %s", strictyaml.Excerpt(p, 60), instead)
	case strings.HasPrefix(slashed, "/") || strictyaml.Scheme(p) != "" ||
		len(p) >= 2 && p[1] == ':' && strictyaml.IsLetter(p[0]):
		return "", fmt.Sprintf("%q is not relative to the code folder; %s",
			strictyaml.Excerpt(p, 60), instead)
	case clean == ".." || strings.HasPrefix(clean, "../"):
		return "", fmt.Sprintf("%q leaves the code folder; %s", strictyaml.Excerpt(p, 60),
			instead)
	case clean == ".":
		return "", fmt.Sprintf("%q names the code folder itself, not a file in it; %s",
			strictyaml.Excerpt(p, 60), instead)
	}
	return clean, ""
}
