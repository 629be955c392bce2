package jobspec

import (
	"strings"
	"testing"

	v1 "berth/api/v1"
	"github.com/google/go-cmp/cmp"
)

func TestInputs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want map[string]v1.JobInput
	}{{
		name: "bare scalars take their type from the YAML tag",
		yaml: "a: 3\nb: 2.5\nc: false\nd: text\ne: '3'\nf: 2024-01-01\n",
		want: map[string]v1.JobInput{
			"a": {Type: "integer", Value: "3"},
			"b": {Type: "number", Value: "2.5"},
			"c": {Type: "boolean", Value: "false"},
			"d": {Type: "string", Value: "text"},
			"e": {Type: "string", Value: "3"},
			"f": {Type: "string", Value: "2024-01-01"},
		},
	}, {
		name: "a mapping with a path and no type is a folder",
		yaml: "data:\n  path: ./data\n",
		want: map[string]v1.JobInput{"data": {Type: "uri_folder", Path: "./data"}},
	}, {
		name: "literal values are checked against their type",
		yaml: "n:\n  type: number\n  value: -1.5e3\ni:\n  type: integer\n  value: -7\n" +
			"s:\n  type: string\n  value: ''\n",
		want: map[string]v1.JobInput{
			"n": {Type: "number", Value: "-1.5e3"},
			"i": {Type: "integer", Value: "-7"},
			"s": {Type: "string"},
		},
	}, {
		name: "an optional literal may have no value",
		yaml: "seed:\n  type: integer\n  optional: true\n  description: random seed\n",
		want: map[string]v1.JobInput{
			"seed": {Type: "integer", Optional: true, Description: "random seed"},
		},
	}, {
		name: "every input mode",
		yaml: "a: {path: x, mode: ro_mount}\nb: {path: x, mode: rw_mount}\n" +
			"c: {path: x, mode: download}\nd: {path: x, mode: direct}\n" +
			"e: {path: x, mode: upload}\nf: {path: x, mode: eval_mount}\n" +
			"g: {path: x, mode: eval_download}\n",
		want: map[string]v1.JobInput{
			"a": {Type: "uri_folder", Path: "x", Mode: "ro_mount"},
			"b": {Type: "uri_folder", Path: "x", Mode: "rw_mount"},
			"c": {Type: "uri_folder", Path: "x", Mode: "download"},
			"d": {Type: "uri_folder", Path: "x", Mode: "direct"},
			"e": {Type: "uri_folder", Path: "x", Mode: "upload"},
			"f": {Type: "uri_folder", Path: "x", Mode: "eval_mount"},
			"g": {Type: "uri_folder", Path: "x", Mode: "eval_download"},
		},
	}, {
		name: "paths of every accepted kind",
		yaml: "a: {type: uri_file, path: 'C:\\data\\a.csv'}\nb: {type: uri_file, path: /abs/b.csv}\n" +
			"c: {type: uri_file, path: 'http://example.com/c.csv'}\n" +
			"d: {type: uri_folder, path: 'file:///abs/d'}\n" +
			"_e: {type: uri_file, path: 'azureml://jobs/job_1/outputs/out'}\n",
		want: map[string]v1.JobInput{
			"a":  {Type: "uri_file", Path: `C:\data\a.csv`},
			"b":  {Type: "uri_file", Path: "/abs/b.csv"},
			"c":  {Type: "uri_file", Path: "http://example.com/c.csv"},
			"d":  {Type: "uri_folder", Path: "file:///abs/d"},
			"_e": {Type: "uri_file", Path: "azureml://jobs/job_1/outputs/out"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Parse([]byte("command: echo\ninputs:\n"+indent(tt.yaml)), Options{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, spec.Inputs); diff != "" {
				t.Errorf("inputs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	yaml := "command: echo\noutputs:\n  a:\n  b: {}\n  c:\n    type: uri_file\n    mode: direct\n" +
		"  d:\n    mode: rw_mount\n    description: checkpoints\n"
	spec, err := Parse([]byte(yaml), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := map[string]v1.JobOutput{
		"a": {Type: "uri_folder"},
		"b": {Type: "uri_folder"},
		"c": {Type: "uri_file", Mode: "direct"},
		"d": {Type: "uri_folder", Mode: "rw_mount", Description: "checkpoints"},
	}
	if diff := cmp.Diff(want, spec.Outputs); diff != "" {
		t.Errorf("outputs mismatch (-want +got):\n%s", diff)
	}
}

// nest puts each case's YAML under head, indented.
func nest(head string, cases []errorCase) []errorCase {
	for i := range cases {
		cases[i].yaml = head + indent(cases[i].yaml)
	}
	return cases
}

// indent indents YAML text by two spaces, to nest it under a field.
func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

// Every case starts with "command: echo\ninputs:\n", so its own lines start at 3.
var inputErrorCases = nest("command: echo\ninputs:\n", []errorCase{{
	name: "invalid input name",
	yaml: "1st: 3\n",
	want: `line 3: inputs.1st: "1st" is not a valid input name; start with a letter or _, ` +
		`then use letters, digits and _`,
}, {
	name: "input without a value",
	yaml: "data:\n",
	want: "line 3: inputs.data: has no value; give a value, or a mapping with a type and a " +
		"value or path",
}, {
	name: "input that is a list",
	yaml: "data: [a, b]\n",
	want: "line 3: inputs.data: expected a value, or a mapping with a type and a value or " +
		"path; found a list",
}, {
	name: "input without a type or path",
	yaml: "data:\n  mode: download\n",
	want: "line 3: inputs.data: has no type; add type: with one of: string, integer, number, " +
		"boolean, uri_file, uri_folder",
}, {
	name: "a misspelt type is not also missing",
	yaml: "data:\n  tpye: uri_file\n  path: x\n",
	want: `line 4: inputs.data: unknown field "tpye"; did you mean "type"?`,
}, {
	name: "model inputs are not supported",
	yaml: "model:\n  type: mlflow_model\n  path: ./model\n",
	want: "line 4: inputs.model.type: mlflow_model inputs are not supported yet; use one of: " +
		"string, integer, number, boolean, uri_file, uri_folder",
}, {
	name: "mltable inputs are not supported",
	yaml: "table:\n  type: mltable\n  path: ./t\n",
	want: "line 4: inputs.table.type: mltable inputs are not supported yet; use one of: " +
		"string, integer, number, boolean, uri_file, uri_folder",
}, {
	name: "misspelt type",
	yaml: "data:\n  type: uri_fodler\n  path: ./d\n",
	want: `line 4: inputs.data.type: unknown input type "uri_fodler"; did you mean "uri_folder"?`,
}, {
	name: "unknown type",
	yaml: "data:\n  type: table\n",
	want: `line 4: inputs.data.type: unknown input type "table"; use one of: string, integer, ` +
		`number, boolean, uri_file, uri_folder`,
}, {
	name: "integer value that is not an integer",
	yaml: "epochs:\n  type: integer\n  value: ten\n",
	want: `line 5: inputs.epochs.value: "ten" is not an integer; give a whole number, such as 10`,
}, {
	name: "integer value that is a float",
	yaml: "epochs:\n  type: integer\n  value: 1.5\n",
	want: `line 5: inputs.epochs.value: "1.5" is not an integer; give a whole number, such as 10`,
}, {
	name: "number value that is not a number",
	yaml: "lr:\n  type: number\n  value: fast\n",
	want: `line 5: inputs.lr.value: "fast" is not a number; give a number, such as 0.01`,
}, {
	name: "number value that is infinite",
	yaml: "lr:\n  type: number\n  value: .inf\n",
	want: `line 5: inputs.lr.value: ".inf" is not a number; give a number, such as 0.01`,
}, {
	name: "boolean value that is not a boolean",
	yaml: "flag:\n  type: boolean\n  value: yes\n",
	want: `line 5: inputs.flag.value: "yes" is not a boolean; give true or false`,
}, {
	name: "default is checked too",
	yaml: "epochs:\n  type: integer\n  default: many\n",
	want: `line 5: inputs.epochs.default: "many" is not an integer; give a whole number, ` +
		`such as 10`,
}, {
	name: "value and default",
	yaml: "epochs:\n  type: integer\n  value: 1\n  default: 2\n",
	want: "line 6: inputs.epochs.default: give value or default, not both; keep value",
}, {
	name: "value that is a mapping",
	yaml: "epochs:\n  type: integer\n  value: {a: 1}\n",
	want: "line 5: inputs.epochs.value: expected a single value, found a mapping",
}, {
	name: "required literal without a value",
	yaml: "epochs:\n  type: integer\n",
	want: "line 3: inputs.epochs: has no value; add value:, or optional: true",
}, {
	name: "literal with a path and a mode",
	yaml: "name:\n  type: string\n  value: x\n  path: ./x\n  mode: download\n",
	want: "line 6: inputs.name.path: a string input takes a value, not a path; use type: " +
		"uri_file or uri_folder for a path\n" +
		"line 7: inputs.name.mode: a string input has no mode; mode applies to uri_file and " +
		"uri_folder inputs",
}, {
	name: "uri input with a value",
	yaml: "data:\n  type: uri_file\n  value: x.csv\n",
	want: "line 5: inputs.data.value: a uri_file input takes a path, not a value; use path:",
}, {
	name: "uri input without a path",
	yaml: "data:\n  type: uri_folder\n",
	want: "line 3: inputs.data: a uri_folder input needs a path; add path:, or optional: true",
}, {
	name: "folder over HTTP",
	yaml: "data:\n  type: uri_folder\n  path: https://example.com/data/\n",
	want: "line 5: inputs.data.path: a folder cannot be fetched over HTTP; use type: " +
		"uri_file for a single file, or a local folder",
}, {
	name: "folder over HTTP when the type is left out",
	yaml: "data:\n  path: https://example.com/data/\n",
	want: "line 4: inputs.data.path: a folder cannot be fetched over HTTP; use type: " +
		"uri_file for a single file, or a local folder",
}, {
	name: "URL without a host",
	yaml: "data:\n  type: uri_file\n  path: 'https:///x.csv'\n",
	want: `line 5: inputs.data.path: "https:///x.csv" is not a valid URL; give a URL such as ` +
		`https://example.com/data.csv`,
}, {
	name: "data asset",
	yaml: "data:\n  type: uri_folder\n  path: azureml:iris:1\n",
	want: "line 5: inputs.data.path: data assets are not supported yet; give a local path, " +
		"an http(s) URL or a job output such as azureml://jobs/<job>/outputs/<name>",
}, {
	name: "datastore path",
	yaml: "data:\n  type: uri_folder\n  path: azureml://datastores/blob/paths/iris/\n",
	want: "line 5: inputs.data.path: azureml:// paths other than job outputs " +
		"(azureml://jobs/<job>/outputs/<name>) are not supported yet; give a local path, " +
		"an http(s) URL or a job output such as azureml://jobs/<job>/outputs/<name>",
}, {
	name: "job output with a trailing slash",
	yaml: "data:\n  type: uri_folder\n  path: azureml://jobs/prep/outputs/model/\n",
	want: "line 5: inputs.data.path: azureml:// paths other than job outputs " +
		"(azureml://jobs/<job>/outputs/<name>) are not supported yet; give a local path, " +
		"an http(s) URL or a job output such as azureml://jobs/<job>/outputs/<name>",
}, {
	name: "scheme in upper case",
	yaml: "data:\n  type: uri_file\n  path: HTTPS://example.com/x.csv\n",
	want: `line 5: inputs.data.path: write the scheme "HTTPS" in lower case, as https:`,
}, {
	name: "other URL schemes",
	yaml: "data:\n  type: uri_folder\n  path: wasbs://data@account.blob.core.windows.net/iris\n",
	want: `line 5: inputs.data.path: "wasbs:" paths are not supported yet; give a local ` +
		`path, an http(s) URL or a job output such as azureml://jobs/<job>/outputs/<name>`,
}, {
	name: "empty file: path",
	yaml: "data:\n  type: uri_folder\n  path: 'file:'\n",
	want: `line 5: inputs.data.path: the path after "file:" is empty; give a local file or ` +
		`folder, such as file:./data`,
}, {
	name: "unknown mode",
	yaml: "data:\n  path: ./d\n  mode: mount\n",
	want: `line 5: inputs.data.mode: unknown input mode "mount"; use one of: ro_mount, ` +
		`rw_mount, download, direct, upload, eval_mount, eval_download`,
}, {
	name: "misspelt mode",
	yaml: "data:\n  path: ./d\n  mode: ro-mount\n",
	want: `line 5: inputs.data.mode: unknown input mode "ro-mount"; did you mean "ro_mount"?`,
}, {
	name: "optional that is not a boolean",
	yaml: "data:\n  path: ./d\n  optional: yes\n",
	want: `line 5: inputs.data.optional: expected true or false, found "yes"`,
}, {
	name: "inputs that are not a mapping",
	yaml: "- a\n",
	want: "line 3: inputs: expected a mapping of input names to inputs, found a list",
}})

func TestInputErrors(t *testing.T) {
	checkErrors(t, inputErrorCases)
}

// Every case starts with "command: echo\noutputs:\n", so its own lines start at 3.
var outputErrorCases = nest("command: echo\noutputs:\n", []errorCase{{
	name: "custom output path",
	yaml: "model:\n  type: uri_folder\n  path: ./out\n",
	want: "line 5: outputs.model.path: custom output paths are not supported yet; remove " +
		"path, and berth stores the output with the job",
}, {
	name: "output registered as a data asset",
	yaml: "model:\n  name: my-model\n",
	want: "line 4: outputs.model.name: registering an output as a data asset is not " +
		"supported yet; remove name",
}, {
	name: "model output",
	yaml: "model:\n  type: mlflow_model\n",
	want: "line 4: outputs.model.type: mlflow_model outputs are not supported yet; use one " +
		"of: uri_folder, uri_file",
}, {
	name: "literal output",
	yaml: "score:\n  type: number\n",
	want: `line 4: outputs.score.type: unknown output type "number"; use one of: uri_folder, ` +
		`uri_file`,
}, {
	name: "unknown mode",
	yaml: "model:\n  mode: ro_mount\n",
	want: `line 4: outputs.model.mode: unknown output mode "ro_mount"; did you mean "rw_mount"?`,
}, {
	name: "output that is a scalar",
	yaml: "model: uri_folder\n",
	want: `line 3: outputs.model: expected nothing, or a mapping with type, mode or ` +
		`description; found "uri_folder"`,
}, {
	name: "invalid output name",
	yaml: "my-model:\n",
	want: `line 3: outputs.my-model: "my-model" is not a valid output name; start with a ` +
		`letter or _, then use letters, digits and _`,
}, {
	name: "unknown field",
	yaml: "model:\n  modes: upload\n",
	want: `line 4: outputs.model: unknown field "modes"; did you mean "mode"?`,
}})

func TestOutputErrors(t *testing.T) {
	checkErrors(t, outputErrorCases)
}
