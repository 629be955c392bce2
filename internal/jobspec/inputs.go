package jobspec

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	v1 "berth/api/v1"
	"go.yaml.in/yaml/v3"
)

var inputSchema = schema{
	fields: []string{"type", "path", "value", "default", "mode", "optional", "description"},
}

var outputSchema = schema{
	fields: []string{"type", "mode", "description"},
	unsupported: map[string]string{
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
	m, ok := d.mapping(v, "inputs", "a mapping of input names to inputs")
	if !ok {
		return nil
	}
	names, entries := d.pairs(m, "inputs")
	if len(names) == 0 {
		return nil
	}
	inputs := make(map[string]v1.JobInput, len(names))
	for i, name := range names {
		field := join("inputs", name)
		if msg := identifierProblem("input", name); msg != "" {
			d.addf(entries[i].key, field, "%s", msg)
		}
		inputs[name] = d.input(entries[i], field)
	}
	return inputs
}

// input reads one input: a bare scalar is a literal whose type comes from its YAML tag
// (`epochs: 10` is an integer), as az reads it; a mapping spells the input out.
func (d *decoder) input(e entry, field string) v1.JobInput {
	n := d.resolve(e.value)
	switch {
	case isNull(n):
		d.addf(e.key, field, "has no value; give a value, or a mapping with a type and a value "+
			"or path")
		return v1.JobInput{Type: v1.InputString}
	case n.Kind == yaml.ScalarNode:
		return v1.JobInput{Type: literalType(n), Value: n.Value}
	case n.Kind != yaml.MappingNode:
		d.addf(n, field, "expected a value, or a mapping with a type and a value or path; found %s",
			describe(n))
		return v1.JobInput{Type: v1.InputString}
	}

	f := d.fields(n, field, inputSchema)
	var in v1.JobInput
	in.Optional, _ = d.boolean(f["optional"].value, field+".optional")
	in.Description, _, _ = d.str(f["description"].value, field+".description")
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
func (d *decoder) inputType(e entry, f map[string]entry, field string) string {
	typ, n, ok := d.str(f["type"].value, field+".type")
	if !ok {
		switch {
		case !isNull(n):
			// The wrong kind, reported.
		case !isNull(d.resolve(f["path"].value)):
			return v1.InputURIFolder
		case !d.suggested[field+".type"]:
			d.addf(e.key, field, "has no type; add type: with one of: %s",
				strings.Join(inputTypes, ", "))
		}
		return ""
	}
	switch {
	case slices.Contains(inputTypes, typ):
		return typ
	case slices.Contains(modelTypes, typ):
		d.addf(n, field+".type", "%s inputs are not supported yet; use one of: %s",
			typ, strings.Join(inputTypes, ", "))
	default:
		d.addf(n, field+".type", "%s", unknownValue("input type", typ, inputTypes))
	}
	return ""
}

// literalInput reads the value of a string, integer, number or boolean input.
func (d *decoder) literalInput(in *v1.JobInput, e entry, f map[string]entry, field string) {
	if p := f["path"]; !isNull(d.resolve(p.value)) {
		d.addf(p.key, field+".path", "a %s input takes a value, not a path; use type: uri_file "+
			"or uri_folder for a path", in.Type)
	}
	if m := f["mode"]; !isNull(d.resolve(m.value)) {
		d.addf(m.key, field+".mode", "a %s input has no mode; mode applies to uri_file and "+
			"uri_folder inputs", in.Type)
	}

	// A job's input is given by value; default is what a component file would say, and az
	// accepts it on a job too.
	valueField := field + ".value"
	value, vn, hasValue := d.literal(f["value"].value, valueField)
	def, dn, hasDefault := d.literal(f["default"].value, field+".default")
	switch {
	case hasValue && hasDefault:
		d.addf(f["default"].key, field+".default", "give value or default, not both; keep value")
	case hasDefault:
		value, vn, hasValue, valueField = def, dn, true, field+".default"
	}
	if !hasValue {
		if !in.Optional && isNull(vn) && isNull(dn) && !d.suggested[field+".value"] {
			d.addf(e.key, field, "has no value; add value:, or optional: true")
		}
		return
	}
	if msg := literalProblem(in.Type, value); msg != "" {
		d.addf(vn, valueField, "%s", msg)
	}
	in.Value = value
}

// literal reads a literal value as text, whatever its YAML tag: `value: 10` under a string
// input is "10".
func (d *decoder) literal(v *yaml.Node, field string) (string, *yaml.Node, bool) {
	n := d.resolve(v)
	if isNull(n) {
		return "", n, false
	}
	if n.Kind != yaml.ScalarNode {
		d.addf(n, field, "expected a single value, found %s", describe(n))
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
				excerpt(value, 40))
		}
	case v1.InputNumber:
		if x, err := strconv.ParseFloat(value, 64); err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Sprintf("%q is not a number; give a number, such as 0.01", excerpt(value, 40))
		}
	case v1.InputBoolean:
		if !strings.EqualFold(value, "true") && !strings.EqualFold(value, "false") {
			return fmt.Sprintf("%q is not a boolean; give true or false", excerpt(value, 40))
		}
	}
	return ""
}

// uriInput reads the path and mode of a uri_file or uri_folder input.
func (d *decoder) uriInput(in *v1.JobInput, e entry, f map[string]entry, field string) {
	misplaced := false
	for _, name := range []string{"value", "default"} {
		if x := f[name]; !isNull(d.resolve(x.value)) {
			d.addf(x.key, field+"."+name, "a %s input takes a path, not a value; use path:", in.Type)
			misplaced = true
		}
	}

	path, pn, ok := d.str(f["path"].value, field+".path")
	switch {
	case ok && path != "":
		if msg := pathProblem(in.Type, path); msg != "" {
			d.addf(pn, field+".path", "%s", msg)
		}
		in.Path = path
	case !ok && !isNull(pn):
		// The wrong kind, reported.
	case !in.Optional && !misplaced && !d.suggested[field+".path"]:
		d.addf(e.key, field, "a %s input needs a path; add path:, or optional: true", in.Type)
	}

	if mode, n, ok := d.str(f["mode"].value, field+".mode"); ok {
		if !slices.Contains(inputModes, mode) {
			d.addf(n, field+".mode", "%s", unknownValue("input mode", mode, inputModes))
		}
		in.Mode = mode
	}
}

// outputs reads the job's outputs.
func (d *decoder) outputs(v *yaml.Node) map[string]v1.JobOutput {
	m, ok := d.mapping(v, "outputs", "a mapping of output names to outputs")
	if !ok {
		return nil
	}
	names, entries := d.pairs(m, "outputs")
	if len(names) == 0 {
		return nil
	}
	outputs := make(map[string]v1.JobOutput, len(names))
	for i, name := range names {
		field := join("outputs", name)
		if msg := identifierProblem("output", name); msg != "" {
			d.addf(entries[i].key, field, "%s", msg)
		}
		outputs[name] = d.output(entries[i], field)
	}
	return outputs
}

// output reads one output. A bare name (`model:` with nothing after it) is a folder.
func (d *decoder) output(e entry, field string) v1.JobOutput {
	out := v1.JobOutput{Type: v1.InputURIFolder}
	n := d.resolve(e.value)
	switch {
	case isNull(n):
		return out
	case n.Kind != yaml.MappingNode:
		d.addf(n, field, "expected nothing, or a mapping with type, mode or description; found %s",
			describe(n))
		return out
	}

	f := d.fields(n, field, outputSchema)
	if typ, n, ok := d.str(f["type"].value, field+".type"); ok {
		switch {
		case slices.Contains(outputTypes, typ):
			out.Type = typ
		case slices.Contains(modelTypes, typ):
			d.addf(n, field+".type", "%s outputs are not supported yet; use one of: %s",
				typ, strings.Join(outputTypes, ", "))
		default:
			d.addf(n, field+".type", "%s", unknownValue("output type", typ, outputTypes))
		}
	}
	if mode, n, ok := d.str(f["mode"].value, field+".mode"); ok {
		if !slices.Contains(outputModes, mode) {
			d.addf(n, field+".mode", "%s", unknownValue("output mode", mode, outputModes))
		}
		out.Mode = mode
	}
	out.Description, _, _ = d.str(f["description"].value, field+".description")
	return out
}
