// Package jobspec parses and validates job YAML files in the Azure ML CLI v2 commandJob shape.
//
// The same code runs in the CLI, before anything is uploaded, and on the server, which has the
// last word; so it reads only the bytes it is given, never the filesystem or the network, and
// both sides give the same answer for the same file. Parsing is strict: unknown fields, wrong
// kinds and values berth cannot run are errors that name the line and say what to do, and all
// of a file's problems are reported at once.
package jobspec

import (
	"strings"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// Options change a job file as the CLI's flags do, before validation.
type Options struct {
	// Name overrides the file's name when non-empty (the CLI's --name).
	Name string
	// Set holds "dotted.path=value" overrides (the CLI's --set), applied to the YAML tree
	// before validation. A value is read as a YAML scalar, so limits.timeout=60 is an integer;
	// missing mappings are created; an entry without "=" or with an empty path is an error.
	Set []string
}

// Parse parses and validates a job file. On failure the error is a *ParseError listing every
// problem found.
func Parse(data []byte, opts Options) (*v1.JobSpec, error) {
	d := decoder{strictyaml.NewDecoder(jobFormat)}
	root := d.ReadYAML(data)
	d.ApplySets(root, d.retargetInputSets(root, opts.Set))
	if opts.Name != "" {
		d.Override(root, []string{"name"}, opts.Name)
	}
	var spec *v1.JobSpec
	if root != nil {
		spec = d.jobSpec(root)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return spec, nil
}

var jobSchema = strictyaml.Schema{
	Fields: []string{
		"$schema", "type", "name", "display_name", "experiment_name", "description", "tags",
		"command", "code", "environment", "environment_variables", "compute", "inputs",
		"outputs", "distribution", "resources", "limits",
	},
	Unsupported: map[string]string{
		"services": "job services (ssh, jupyter, tensorboard) are not supported yet; " +
			"remove services",
		"identity": "job identities are not supported yet; remove identity, and the job runs " +
			"with its compute's identity",
		"queue_settings": "queue settings are not supported yet; remove queue_settings",
		"properties": "job properties are not supported yet; remove properties, and use tags " +
			"for key-value metadata",
	},
}

// jobSpec reads the top-level mapping of a job file.
func (d *decoder) jobSpec(root *yaml.Node) *v1.JobSpec {
	if !d.jobType(strictyaml.Find(root, "type")) {
		// The rest of a sweep or pipeline file would only add noise.
		return nil
	}
	f := d.Fields(root, "", jobSchema)
	spec := &v1.JobSpec{
		Type:           "command",
		ExperimentName: "Default",
		Compute:        "local",
	}
	spec.Name = d.name(f["name"].Value, "name", "job")
	if name := d.name(f["experiment_name"].Value, "experiment_name", "experiment"); name != "" {
		spec.ExperimentName = name
	}
	// TODO(jobspec): free text (description, tags) is bounded only by the server's 4 MiB
	// spec limit; a few megabytes of it make every job list slow. Cap it with a message.
	spec.DisplayName, _, _ = d.Str(f["display_name"].Value, "display_name")
	spec.Description, _, _ = d.Str(f["description"].Value, "description")
	spec.Tags = d.StringMap(f["tags"].Value, "tags", "a mapping of tag names to values", nil)

	command, commandNode, ok := d.Str(f["command"].Value, "command")
	switch {
	case ok && strings.TrimSpace(command) == "":
		d.Addf(commandNode, "command", "is empty; give the command line to run, such as "+
			"python train.py")
	case !ok && strictyaml.IsNull(commandNode) && !d.Suggested("command"):
		d.Addf(commandNode, "command", "the job has no command; add one, such as "+
			"command: python train.py")
	}
	spec.Command = command

	if code, n, ok := d.Str(f["code"].Value, "code"); ok && code != "" {
		if msg := codeProblem(code); msg != "" {
			d.Addf(n, "code", "%s", msg)
		}
		spec.Code = code
	}
	spec.Environment = d.Environment(f["environment"].Value, "environment")
	spec.EnvironmentVariables = d.StringMap(f["environment_variables"].Value,
		"environment_variables", "a mapping of variable names to values", strictyaml.VariableProblem)
	spec.Compute = d.Compute(f["compute"].Value, "compute")
	spec.Inputs = d.inputs(f["inputs"].Value)
	spec.Outputs = d.outputs(f["outputs"].Value)
	spec.Distribution = d.distribution(f["distribution"].Value)
	var countNode *yaml.Node
	spec.Resources, countNode = d.resources(f["resources"].Value)
	spec.Limits = d.limits(f["limits"].Value)

	d.checkLocalInstances(spec.Compute, spec.Resources, countNode)
	if strings.TrimSpace(command) != "" {
		d.checkCommand(command, commandNode, spec.Inputs, spec.Outputs)
	}
	return spec
}

// jobType checks the job's type and reports whether the rest of the file is worth reading.
func (d *decoder) jobType(v *yaml.Node) bool {
	typ, n, ok := d.Str(v, "type")
	switch {
	case !ok:
		return strictyaml.IsNull(n)
	case typ == "command":
		return true
	case typ == "sweep" || typ == "pipeline":
		d.Addf(n, "type", "%s jobs are not supported yet; berth runs command jobs (type: command)", typ)
		return false
	}
	if strings.EqualFold(typ, "command") {
		d.Addf(n, "type", "unknown job type %q; did you mean \"command\"?", typ)
	} else {
		d.Addf(n, "type", "unknown job type %q; berth runs command jobs (type: command)",
			strictyaml.Excerpt(typ, 40))
	}
	return true
}

// name reads a job or experiment name; empty means none given.
func (d *decoder) name(v *yaml.Node, field, what string) string {
	name, n, ok := d.Str(v, field)
	if !ok || name == "" {
		return ""
	}
	if msg := strictyaml.NameProblem(what, name); msg != "" {
		d.Addf(n, field, "%s", msg)
	}
	return name
}
