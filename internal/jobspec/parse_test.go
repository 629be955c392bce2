package jobspec

import (
	"errors"
	"strings"
	"testing"

	v1 "berth/api/v1"
	"github.com/google/go-cmp/cmp"
)

// fullJob uses every field berth accepts.
const fullJob = `$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
name: train-iris_01
display_name: Train on iris
experiment_name: iris
description: Trains a classifier.
tags:
  team: ml
  priority: 1
code: ./src
command: >-
  python train.py --data ${{inputs.data}} --epochs ${{inputs.epochs}}
  $[[--seed ${{inputs.seed}}]] --model ${{outputs.model}}
environment:
  name: sklearn
  version: 1
  image: python:3.12-slim
  conda_file:
    name: sklearn
    dependencies:
      - python=3.12
      - pip:
          - scikit-learn
  description: scikit-learn on Python 3.12
environment_variables:
  DEBUG: 1
  VERBOSE: true
  MODE: fast
compute: azureml:k8s-gpu
inputs:
  data:
    type: uri_folder
    path: file:./data
    mode: ro_mount
    description: training data
  labels:
    type: uri_file
    path: https://example.com/labels.csv
  base_model:
    path: azureml://jobs/prep-1/outputs/model
  epochs: 10
  lr: 0.01
  shuffle: true
  note: hello
  seed:
    type: integer
    optional: true
  batch:
    type: integer
    default: 32
outputs:
  model:
  metrics:
    type: uri_file
    mode: upload
    description: metrics file
distribution:
  type: pytorch
  process_count_per_instance: 2
resources:
  instance_count: 2
  instance_type: gpu-small
  shm_size: 2g
limits:
  timeout: 3600
`

func TestParseFullJob(t *testing.T) {
	want := &v1.JobSpec{
		Type:           "command",
		Name:           "train-iris_01",
		DisplayName:    "Train on iris",
		ExperimentName: "iris",
		Description:    "Trains a classifier.",
		Tags:           map[string]string{"team": "ml", "priority": "1"},
		Command: "python train.py --data ${{inputs.data}} --epochs ${{inputs.epochs}} " +
			"$[[--seed ${{inputs.seed}}]] --model ${{outputs.model}}",
		Code: "./src",
		Environment: &v1.Environment{
			Name:    "sklearn",
			Version: "1",
			Image:   "python:3.12-slim",
			CondaFile: "name: sklearn\ndependencies:\n  - python=3.12\n  - pip:\n" +
				"      - scikit-learn\n",
			Description: "scikit-learn on Python 3.12",
		},
		EnvironmentVariables: map[string]string{"DEBUG": "1", "VERBOSE": "true", "MODE": "fast"},
		Compute:              "k8s-gpu",
		Inputs: map[string]v1.JobInput{
			"data": {Type: "uri_folder", Path: "file:./data", Mode: "ro_mount",
				Description: "training data"},
			"labels":     {Type: "uri_file", Path: "https://example.com/labels.csv"},
			"base_model": {Type: "uri_folder", Path: "azureml://jobs/prep-1/outputs/model"},
			"epochs":     {Type: "integer", Value: "10"},
			"lr":         {Type: "number", Value: "0.01"},
			"shuffle":    {Type: "boolean", Value: "true"},
			"note":       {Type: "string", Value: "hello"},
			"seed":       {Type: "integer", Optional: true},
			"batch":      {Type: "integer", Value: "32"},
		},
		Outputs: map[string]v1.JobOutput{
			"model":   {Type: "uri_folder"},
			"metrics": {Type: "uri_file", Mode: "upload", Description: "metrics file"},
		},
		Distribution: &v1.Distribution{Type: "pytorch", ProcessCountPerInstance: 2},
		Resources:    v1.Resources{InstanceCount: 2, InstanceType: "gpu-small", ShmSize: "2g"},
		Limits:       &v1.Limits{Timeout: 3600},
	}
	got, err := Parse([]byte(fullJob), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}

	wantPaths := []LocalPath{{Part: "code", Path: "./src"}, {Part: "inputs.data", Path: "./data"}}
	if diff := cmp.Diff(wantPaths, LocalPaths(got)); diff != "" {
		t.Errorf("LocalPaths mismatch (-want +got):\n%s", diff)
	}

	values := map[string]string{
		"inputs.data": "/in/data", "inputs.epochs": "10", "outputs.model": "/out/model",
	}
	cmd, err := RenderCommand(got.Command, values)
	if err != nil {
		t.Fatalf("RenderCommand: %v", err)
	}
	if want := "python train.py --data /in/data --epochs 10  --model /out/model"; cmd != want {
		t.Errorf("RenderCommand = %q, want %q", cmd, want)
	}
}

// minimal is the spec of "command: echo hi", changed by change.
func minimal(change func(*v1.JobSpec)) *v1.JobSpec {
	s := &v1.JobSpec{
		Type:           "command",
		ExperimentName: "Default",
		Command:        "echo hi",
		Compute:        "local",
		Resources:      v1.Resources{InstanceCount: 1},
	}
	if change != nil {
		change(s)
	}
	return s
}

type validCase struct {
	name string
	yaml string
	opts Options
	want *v1.JobSpec
}

var validCases = []validCase{{
	name: "a command alone gets the defaults",
	yaml: "command: echo hi\n",
	want: minimal(nil),
}, {
	name: "null fields count as absent",
	yaml: "command: echo hi\nname:\ninputs:\noutputs:\nlimits:\nresources:\ncompute:\n",
	want: minimal(nil),
}, {
	name: "environment variables are coerced to strings",
	yaml: "command: echo hi\nenvironment_variables:\n  DEBUG: 1\n  FLAG: true\n  RATE: 0.5\n" +
		"  EMPTY:\n  QUOTED: '007'\n",
	want: minimal(func(s *v1.JobSpec) {
		s.EnvironmentVariables = map[string]string{
			"DEBUG": "1", "FLAG": "true", "RATE": "0.5", "EMPTY": "", "QUOTED": "007",
		}
	}),
}, {
	name: "compute azureml:local is local",
	yaml: "command: echo hi\ncompute: azureml:local\n",
	want: minimal(nil),
}, {
	name: "a bare compute name is accepted as az does",
	yaml: "command: echo hi\ncompute: cpu-cluster\n",
	want: minimal(func(s *v1.JobSpec) { s.Compute = "cpu-cluster" }),
}, {
	name: "environment reference with a label",
	yaml: "command: echo hi\nenvironment: azureml:sklearn-env@latest\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Environment = &v1.Environment{Ref: "azureml:sklearn-env@latest"}
	}),
}, {
	name: "registry environment reference from Azure's examples",
	yaml: "command: echo hi\nenvironment: " +
		"azureml://registries/azureml/environments/sklearn-1.5/labels/latest\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Environment = &v1.Environment{
			Ref: "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
		}
	}),
}, {
	name: "inline environment with a conda file path",
	yaml: "command: echo hi\nenvironment:\n  image: python:3.12\n  conda_file: conda.yml\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Environment = &v1.Environment{Image: "python:3.12", CondaFile: "conda.yml"}
	}),
}, {
	name: "tensorflow distribution",
	yaml: "command: echo hi\ndistribution:\n  type: tensorflow\n  worker_count: 2\n" +
		"  parameter_server_count: 0\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Distribution = &v1.Distribution{Type: "tensorflow", WorkerCount: 2}
	}),
}, {
	name: "mpi distribution",
	yaml: "command: echo hi\ndistribution:\n  type: mpi\n  process_count_per_instance: 4\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Distribution = &v1.Distribution{Type: "mpi", ProcessCountPerInstance: 4}
	}),
}, {
	name: "--name overrides the file's name",
	yaml: "name: from-file\ncommand: echo hi\n",
	opts: Options{Name: "from-flag"},
	want: minimal(func(s *v1.JobSpec) { s.Name = "from-flag" }),
}, {
	name: "an empty file gets everything from --set",
	yaml: "",
	opts: Options{Set: []string{"command=echo hi"}},
	want: minimal(nil),
}, {
	name: "boolean literal in any case",
	yaml: "command: echo hi\ninputs:\n  flag:\n    type: boolean\n    value: TRUE\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Inputs = map[string]v1.JobInput{"flag": {Type: "boolean", Value: "TRUE"}}
	}),
}, {
	name: "a number given to a string input is its text",
	yaml: "command: echo hi\ninputs:\n  tag:\n    type: string\n    value: 1.50\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Inputs = map[string]v1.JobInput{"tag": {Type: "string", Value: "1.50"}}
	}),
}, {
	name: "an optional uri input may have no path",
	yaml: "command: echo $[[${{inputs.extra}}]]\ninputs:\n  extra:\n    type: uri_file\n" +
		"    optional: true\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Command = "echo $[[${{inputs.extra}}]]"
		s.Inputs = map[string]v1.JobInput{"extra": {Type: "uri_file", Optional: true}}
	}),
}, {
	name: "a bash test in the command is not an optional section",
	yaml: "command: if [[ -f x ]]; then echo ${{inputs.a}}; fi\ninputs:\n  a: 1\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Command = "if [[ -f x ]]; then echo ${{inputs.a}}; fi"
		s.Inputs = map[string]v1.JobInput{"a": {Type: "integer", Value: "1"}}
	}),
}, {
	name: "aliases are followed",
	yaml: "command: echo hi\ntags: &t\n  a: b\ndescription: &d text\ndisplay_name: *d\n",
	want: minimal(func(s *v1.JobSpec) {
		s.Tags = map[string]string{"a": "b"}
		s.Description = "text"
		s.DisplayName = "text"
	}),
}}

func TestParseValid(t *testing.T) {
	for _, tt := range validCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml), tt.opts)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// checkErrors runs Parse on each case and compares the whole error text.
func checkErrors(t *testing.T, tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Parse([]byte(tt.yaml), tt.opts)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want error:\n%s", spec, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error is %T, want *ParseError", err)
			}
			if spec != nil {
				t.Errorf("Parse returned a spec with its error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

type errorCase struct {
	name string
	yaml string
	opts Options
	want string
}

var parseErrorCases = []errorCase{{
	name: "invalid YAML reports its line",
	yaml: "name: a\ncommand: echo\ninputs:\n  data: {type: uri_folder\n",
	want: "line 4: invalid YAML: did not find expected ',' or '}'; check the indentation " +
		"and quoting on this line and the one before",
}, {
	name: "a badly indented line inside a nested mapping",
	yaml: "command: echo\ninputs:\n  data:\n    type: uri_folder\n   path: ./data\n",
	want: "line 5: invalid YAML: did not find expected key; check the indentation and quoting " +
		"on this line and the one before",
}, {
	name: "an unclosed quote",
	yaml: "command: echo\ndescription: \"Trains\n\nname: a\n",
	want: "line 2: invalid YAML: found unexpected end of stream; close the quote or bracket " +
		"that starts on this line",
}, {
	name: "an undefined alias",
	yaml: "command: echo\ninputs: *common\n",
	want: "line 2: invalid YAML: unknown anchor 'common' referenced; define the anchor (&name) " +
		"before its alias (*name)",
}, {
	name: "a control character",
	yaml: "command: echo\nname: a\x01b\n",
	want: "line 2: invalid YAML: control characters are not allowed; remove the control character",
}, {
	name: "not UTF-8",
	yaml: "command: echo\nname: caf\xe9\n",
	want: "line 2: invalid YAML: incomplete UTF-8 octet sequence; save the file as UTF-8",
}, {
	name: "an unquoted colon in a value",
	yaml: "name: a\ncommand: echo a: b\n",
	want: `line 2: invalid YAML: mapping values are not allowed in this context; quote a ` +
		`value that contains ": ", or check the indentation`,
}, {
	name: "a syntax error on the first line",
	yaml: "command: echo a: b\n",
	want: `line 1: invalid YAML: mapping values are not allowed in this context; quote a ` +
		`value that contains ": ", or check the indentation`,
}, {
	name: "a misplaced list item",
	yaml: "name: a\n- command: echo\n",
	want: "line 2: invalid YAML: did not find expected key; check the indentation and " +
		"quoting on this line and the one before",
}, {
	name: "tab indentation",
	yaml: "inputs:\n\tdata: 1\n",
	want: "line 2: invalid YAML: found character that cannot start any token; quote a value " +
		"that starts with @, ` or %, and indent with spaces, not tabs",
}, {
	name: "unknown field with a suggestion",
	yaml: "name: a\n\ncomand: echo\n",
	want: `line 3: unknown field "comand"; did you mean "command"?`,
}, {
	name: "fields are case-sensitive",
	yaml: "Command: echo\n",
	want: `line 1: unknown field "Command"; did you mean "command"?`,
}, {
	name: "unknown field with nothing close lists the valid ones",
	yaml: "command: echo\nfoo: 1\n",
	want: `line 2: unknown field "foo"; valid fields are: $schema, type, name, ` +
		`display_name, experiment_name, description, tags, command, code, environment, ` +
		`environment_variables, compute, inputs, outputs, distribution, resources, limits`,
}, {
	name: "missing command",
	yaml: "name: a\n",
	want: "command: the job has no command; add one, such as command: python train.py",
}, {
	name: "empty command",
	yaml: "command: '  '\n",
	want: "line 1: command: is empty; give the command line to run, such as python train.py",
}, {
	name: "command of the wrong kind",
	yaml: "command:\n  - python\n  - train.py\n",
	want: `line 2: command: expected a string, found a list`,
}, {
	name: "an empty file",
	yaml: "# nothing yet\n",
	want: "command: the job has no command; add one, such as command: python train.py",
}, {
	name: "a file that is a list",
	yaml: "- command: echo\n",
	want: "line 1: expected a mapping of job fields such as command: and inputs:, found a list",
}, {
	name: "two documents",
	yaml: "command: echo\n---\ncommand: echo\n",
	want: "line 2: the file holds more than one YAML document; keep one job per file, and " +
		"remove the --- line",
}, {
	name: "duplicate field",
	yaml: "command: echo\nname: a\ncommand: ls\n",
	want: "line 3: command: duplicate field (first on line 1); keep only one",
}, {
	name: "sweep jobs",
	yaml: "type: sweep\ntrial: {}\nsearch_space: {}\n",
	want: "line 1: type: sweep jobs are not supported yet; berth runs command jobs (type: command)",
}, {
	name: "pipeline jobs",
	yaml: "type: pipeline\njobs: {}\n",
	want: "line 1: type: pipeline jobs are not supported yet; berth runs command jobs " +
		"(type: command)",
}, {
	name: "job type in the wrong case",
	yaml: "type: Command\ncommand: echo\n",
	want: `line 1: type: unknown job type "Command"; did you mean "command"?`,
}, {
	name: "unknown job type",
	yaml: "type: spark\ncommand: echo\n",
	want: `line 1: type: unknown job type "spark"; berth runs command jobs (type: command)`,
}, {
	name: "invalid job name",
	yaml: "name: my job\ncommand: echo\n",
	want: `line 1: name: "my job" is not a valid job name; use letters, digits, _ and -, ` +
		`starting with a letter or digit`,
}, {
	name: "job name too long",
	yaml: "name: " + strings.Repeat("a", 256) + "\ncommand: echo\n",
	want: "line 1: name: the job name is 256 characters long; use at most 255",
}, {
	name: "invalid --name",
	yaml: "command: echo\n",
	opts: Options{Name: "-x"},
	want: `name: "-x" is not a valid job name; use letters, digits, _ and -, starting with ` +
		`a letter or digit`,
}, {
	name: "invalid experiment name",
	yaml: "experiment_name: my experiment\ncommand: echo\n",
	want: `line 1: experiment_name: "my experiment" is not a valid experiment name; use ` +
		`letters, digits, _ and -, starting with a letter or digit`,
}, {
	name: "services are not supported",
	yaml: "command: echo\nservices:\n  ssh: {}\n",
	want: "line 2: services: job services (ssh, jupyter, tensorboard) are not supported yet; " +
		"remove services",
}, {
	name: "identity is not supported",
	yaml: "command: echo\nidentity:\n  type: managed\n",
	want: "line 2: identity: job identities are not supported yet; remove identity, and the " +
		"job runs with its compute's identity",
}, {
	name: "environment variable of the wrong kind",
	yaml: "command: echo\nenvironment_variables:\n  A: [1, 2]\n",
	want: "line 3: environment_variables.A: expected a string, number or boolean, found a " +
		"list; quote the value to pass it as text",
}, {
	name: "environment variable name with =",
	yaml: "command: echo\nenvironment_variables:\n  A=B: 1\n",
	want: `line 3: environment_variables: "A=B" is not a valid variable name; use a name ` +
		`without = or NUL in it`,
}, {
	name: "environment variables of the wrong kind",
	yaml: "command: echo\nenvironment_variables: DEBUG=1\n",
	want: `line 2: environment_variables: expected a mapping of variable names to values, ` +
		`found "DEBUG=1"`,
}, {
	name: "tag of the wrong kind",
	yaml: "command: echo\ntags:\n  a: {b: c}\n",
	want: "line 3: tags.a: expected a string, number or boolean, found a mapping; quote the " +
		"value to pass it as text",
}, {
	name: "invalid compute",
	yaml: "command: echo\ncompute: azureml:my cluster\n",
	want: `line 2: compute: "azureml:my cluster" does not name a compute; use local or ` +
		`azureml:<name>, where the name has only letters, digits, _ and -`,
}, {
	name: "code URL",
	yaml: "command: echo\ncode: https://github.com/x/y\n",
	want: "line 2: code: code must be a local folder or file, relative to the job file; " +
		"code assets and URLs are not supported yet",
}, {
	name: "code asset",
	yaml: "command: echo\ncode: azureml:my-code:1\n",
	want: "line 2: code: code must be a local folder or file, relative to the job file; " +
		"code assets and URLs are not supported yet",
}, {
	name: "empty file: code",
	yaml: "command: echo\ncode: 'file://'\n",
	want: `line 2: code: the path after "file:" is empty; give a local folder, such as file:./src`,
}, {
	name: "environment that is not a reference",
	yaml: "command: echo\nenvironment: python:3.12\n",
	want: `line 2: environment: "python:3.12" is not an environment reference; use ` +
		`azureml:<name>:<version> or azureml:<name>@latest, or a mapping with an image`,
}, {
	name: "inline environment without an image",
	yaml: "command: echo\nenvironment:\n  conda_file: conda.yml\n",
	want: "line 3: environment: an inline environment needs an image; add image:, such as " +
		"image: python:3.12-slim",
}, {
	name: "inline environment with a typo and a build",
	yaml: "command: echo\nenvironment:\n  imge: python\n  build:\n    path: docker\n",
	want: `line 3: environment: unknown field "imge"; did you mean "image"?` + "\n" +
		"line 4: environment.build: building an environment's image is not supported yet; " +
		"build and push the image, then give it as image",
}, {
	name: "merge keys",
	yaml: "base: &b {command: echo}\n<<: *b\n",
	want: `line 1: unknown field "base"; valid fields are: $schema, type, name, display_name, ` +
		`experiment_name, description, tags, command, code, environment, ` +
		`environment_variables, compute, inputs, outputs, distribution, resources, limits` +
		"\nline 2: YAML merge keys (<<) are not supported; write the fields out" +
		"\ncommand: the job has no command; add one, such as command: python train.py",
}, {
	name: "aliases that name too much",
	yaml: "command: echo\ntags: &a {x: *a}\n",
	want: "line 2: the aliases in the file (such as *a) name too many values; write the " +
		"values out",
}, {
	name: "every problem is reported, in file order",
	yaml: "comand: echo\nname: a b\nlimits:\n  timeout: 0\nresources:\n  instance_count: 2\n",
	opts: Options{Set: []string{"oops"}},
	want: `line 1: unknown field "comand"; did you mean "command"?` + "\n" +
		`line 2: name: "a b" is not a valid job name; use letters, digits, _ and -, ` +
		`starting with a letter or digit` + "\n" +
		"line 4: limits.timeout: expected a positive whole number of seconds, such as 3600, " +
		"found 0\n" +
		"line 6: resources.instance_count: compute local runs one instance, not 2; set " +
		"instance_count to 1, or run on a Kubernetes compute (compute: azureml:<name>)\n" +
		`--set "oops": expected path=value, such as limits.timeout=60`,
}}

func TestParseErrors(t *testing.T) {
	checkErrors(t, parseErrorCases)
}

func TestParseErrorFormat(t *testing.T) {
	err := &ParseError{Problems: []Problem{
		{Line: 7, Field: "inputs.data.path", Message: "is wrong"},
		{Field: "command", Message: "is missing"},
		{Line: 2, Message: "whole file"},
		{Message: "no line, no field"},
	}}
	want := "line 7: inputs.data.path: is wrong\ncommand: is missing\nline 2: whole file\n" +
		"no line, no field"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
