package jobspec

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

var inputSchema = strictyaml.Schema{
	Fields: []string{"type", "path", "value", "default", "mode", "optional", "description"},
}

var outputSchema = strictyaml.Schema{
	Fields: []string{"type", "mode", "description"},
	Unsupported: map[string]string{
		"path": "custom output paths are not supported yet; remove path, and berth stores " +
			"the output with the job",
		"name":    "registering an output as a data asset is not supported yet; remove name",
		"version": "registering an output as a data asset is not supported yet; remove version",
	},
}

var (
	inputTypes = []string{
		v1.InputString, v1.InputInteger, v1.InputNumber, v1.InputBoolean,
		v1.InputURIFile, v1.InputURIFolder,
	}
	outputTypes = []string{v1.InputURIFolder, v1.InputURIFile}
	// modelTypes are Azure ML input and output types that berth does not handle yet.
	modelTypes = []string{"mlflow_model", "custom_model", "triton_model", "mltable"}
	inputModes = []string{
		"ro_mount", "rw_mount", "download", "direct", "upload", "eval_mount", "eval_download",
	}
	outputModes = []string{"rw_mount", "upload", "direct"}
)

// inputs reads the job's inputs. Inputs with problems are kept (partly read), so that the
// command's expressions naming them are not also reported as undeclared.
func (d *decoder) inputs(v *yaml.Node) map[string]v1.JobInput {
	m, ok := d.Mapping(v, "inputs", "a mapping of input names to inputs")
	if !ok {
		return nil
	}
	names, entries := d.Pairs(m, "inputs")
	if len(names) == 0 {
		return nil
	}
	inputs := make(map[string]v1.JobInput, len(names))
	for i, name := range names {
		field := strictyaml.Join("inputs", name)
		if msg := strictyaml.IdentifierProblem("input", name); msg != "" {
			d.Addf(entries[i].Key, field, "%s", msg)
		}
		inputs[name] = d.input(entries[i], field)
	}
	return inputs
}

// input reads one input: a bare scalar is a literal whose type comes from its YAML tag
// (`epochs: 10` is an integer), as az reads it; a mapping spells the input out.
func (d *decoder) input(e strictyaml.Entry, field string) v1.JobInput {
	n := d.Resolve(e.Value)
	switch {
	case strictyaml.IsNull(n):
		d.Addf(e.Key, field, "has no value; give a value, or a mapping with a type and a value "+
			"or path")
		return v1.JobInput{Type: v1.InputString}
	case n.Kind == yaml.ScalarNode:
		return v1.JobInput{Type: literalType(n), Value: n.Value}
	case n.Kind != yaml.MappingNode:
		d.Addf(n, field, "expected a value, or a mapping with a type and a value or path; found %s",
			strictyaml.Describe(n))
		return v1.JobInput{Type: v1.InputString}
	}

	f := d.Fields(n, field, inputSchema)
	var in v1.JobInput
	in.Optional, _ = d.Boolean(f["optional"].Value, field+".optional")
	in.Description, _, _ = d.Str(f["description"].Value, field+".description")
	in.Type = d.inputType(e, f, field)
	switch {
	case in.Type == "":
		// Reported; what else is wrong depends on the type.
	case in.IsLiteral():
		d.literalInput(&in, e, f, field)
	default:
		d.uriInput(&in, e, f, field)
	}
	return in
}

// literalType maps a bare scalar's YAML tag to an input type.
func literalType(n *yaml.Node) string {
	switch n.ShortTag() {
	case "!!int":
		return v1.InputInteger
	case "!!float":
		return v1.InputNumber
	case "!!bool":
		return v1.InputBoolean
	}
	return v1.InputString
}

// inputType reads an input's type. Without one, an input with a path is a uri_folder, as az
// decides; without a path either, the type cannot be guessed and is asked for.
func (d *decoder) inputType(e strictyaml.Entry, f map[string]strictyaml.Entry,
	field string) string {
	typ, n, ok := d.Str(f["type"].Value, field+".type")
	if !ok {
		switch {
		case !strictyaml.IsNull(n):
			// The wrong kind, reported.
		case !strictyaml.IsNull(d.Resolve(f["path"].Value)):
			return v1.InputURIFolder
		case !d.Suggested(field + ".type"):
			d.Addf(e.Key, field, "has no type; add type: with one of: %s",
				strings.Join(inputTypes, ", "))
		}
		return ""
	}
	switch {
	case slices.Contains(inputTypes, typ):
		return typ
	case slices.Contains(modelTypes, typ):
		d.Addf(n, field+".type", "%s inputs are not supported yet; use one of: %s",
			typ, strings.Join(inputTypes, ", "))
	default:
		d.Addf(n, field+".type", "%s", strictyaml.UnknownValue("input type", typ, inputTypes))
	}
	return ""
}

// literalInput reads the value of a string, integer, number or boolean input.
func (d *decoder) literalInput(in *v1.JobInput, e strictyaml.Entry,
	f map[string]strictyaml.Entry, field string) {
	if p := f["path"]; !strictyaml.IsNull(d.Resolve(p.Value)) {
		d.Addf(p.Key, field+".path", "a %s input takes a value, not a path; use type: uri_file "+
			"or uri_folder for a path", in.Type)
	}
	if m := f["mode"]; !strictyaml.IsNull(d.Resolve(m.Value)) {
		d.Addf(m.Key, field+".mode", "a %s input has no mode; mode applies to uri_file and "+
			"uri_folder inputs", in.Type)
	}

	// A job's input is given by value; default is what a component file would say, and az
	// accepts it on a job too.
	valueField := field + ".value"
	value, vn, hasValue := d.literal(f["value"].Value, valueField)
	def, dn, hasDefault := d.literal(f["default"].Value, field+".default")
	switch {
	case hasValue && hasDefault:
		d.Addf(f["default"].Key, field+".default", "give value or default, not both; keep value")
	case hasDefault:
		value, vn, hasValue, valueField = def, dn, true, field+".default"
	}
	if !hasValue {
		if !in.Optional && strictyaml.IsNull(vn) && strictyaml.IsNull(dn) &&
			!d.Suggested(field+".value") {
			d.Addf(e.Key, field, "has no value; add value:, or optional: true")
		}
		return
	}
	if msg := literalProblem(in.Type, value); msg != "" {
		d.Addf(vn, valueField, "%s", msg)
	}
	in.Value = value
}

// literal reads a literal value as text, whatever its YAML tag: `value: 10` under a string
// input is "10".
func (d *decoder) literal(v *yaml.Node, field string) (string, *yaml.Node, bool) {
	n := d.Resolve(v)
	if strictyaml.IsNull(n) {
		return "", n, false
	}
	if n.Kind != yaml.ScalarNode {
		d.Addf(n, field, "expected a single value, found %s", strictyaml.Describe(n))
		return "", n, false
	}
	return n.Value, n, true
}

// literalProblem returns what is wrong with value for an input of type typ, or "". The checks
// are those the runtime relies on when it hands the value to the command.
func literalProblem(typ, value string) string {
	switch typ {
	case v1.InputInteger:
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return fmt.Sprintf("%q is not an integer; give a whole number, such as 10",
				strictyaml.Excerpt(value, 40))
		}
	case v1.InputNumber:
		if x, err := strconv.ParseFloat(value, 64); err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Sprintf("%q is not a number; give a number, such as 0.01",
				strictyaml.Excerpt(value, 40))
		}
	case v1.InputBoolean:
		if !strings.EqualFold(value, "true") && !strings.EqualFold(value, "false") {
			return fmt.Sprintf("%q is not a boolean; give true or false", strictyaml.Excerpt(value, 40))
		}
	}
	return ""
}

// uriInput reads the path and mode of a uri_file or uri_folder input.
func (d *decoder) uriInput(in *v1.JobInput, e strictyaml.Entry,
	f map[string]strictyaml.Entry, field string) {
	misplaced := false
	for _, name := range []string{"value", "default"} {
		if x := f[name]; !strictyaml.IsNull(d.Resolve(x.Value)) {
			d.Addf(x.Key, field+"."+name, "a %s input takes a path, not a value; use path:", in.Type)
			misplaced = true
		}
	}

	path, pn, ok := d.Str(f["path"].Value, field+".path")
	switch {
	case ok && path != "":
		if msg := pathProblem(in.Type, path); msg != "" {
			d.Addf(pn, field+".path", "%s", msg)
		}
		in.Path = path
	case !ok && !strictyaml.IsNull(pn):
		// The wrong kind, reported.
	case !in.Optional && !misplaced && !d.Suggested(field+".path"):
		d.Addf(e.Key, field, "a %s input needs a path; add path:, or optional: true", in.Type)
	}

	if mode, n, ok := d.Str(f["mode"].Value, field+".mode"); ok {
		if !slices.Contains(inputModes, mode) {
			d.Addf(n, field+".mode", "%s", strictyaml.UnknownValue("input mode", mode, inputModes))
		}
		in.Mode = mode
	}
}

// outputs reads the job's outputs.
func (d *decoder) outputs(v *yaml.Node) map[string]v1.JobOutput {
	m, ok := d.Mapping(v, "outputs", "a mapping of output names to outputs")
	if !ok {
		return nil
	}
	names, entries := d.Pairs(m, "outputs")
	if len(names) == 0 {
		return nil
	}
	outputs := make(map[string]v1.JobOutput, len(names))
	for i, name := range names {
		field := strictyaml.Join("outputs", name)
		if msg := strictyaml.IdentifierProblem("output", name); msg != "" {
			d.Addf(entries[i].Key, field, "%s", msg)
		}
		outputs[name] = d.output(entries[i], field)
	}
	return outputs
}

// output reads one output. A bare name (`model:` with nothing after it) is a folder.
func (d *decoder) output(e strictyaml.Entry, field string) v1.JobOutput {
	out := v1.JobOutput{Type: v1.InputURIFolder}
	n := d.Resolve(e.Value)
	switch {
	case strictyaml.IsNull(n):
		return out
	case n.Kind != yaml.MappingNode:
		d.Addf(n, field, "expected nothing, or a mapping with type, mode or description; found %s",
			strictyaml.Describe(n))
		return out
	}

	f := d.Fields(n, field, outputSchema)
	if typ, n, ok := d.Str(f["type"].Value, field+".type"); ok {
		switch {
		case slices.Contains(outputTypes, typ):
			out.Type = typ
		case slices.Contains(modelTypes, typ):
			d.Addf(n, field+".type", "%s outputs are not supported yet; use one of: %s",
				typ, strings.Join(outputTypes, ", "))
		default:
			d.Addf(n, field+".type", "%s", strictyaml.UnknownValue("output type", typ, outputTypes))
		}
	}
	if mode, n, ok := d.Str(f["mode"].Value, field+".mode"); ok {
		if !slices.Contains(outputModes, mode) {
			d.Addf(n, field+".mode", "%s", strictyaml.UnknownValue("output mode", mode, outputModes))
		}
		out.Mode = mode
	}
	out.Description, _, _ = d.Str(f["description"].Value, field+".description")
	return out
}
