package endpointspec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// localModel is a model file as Azure ML's documentation writes one for a local file.
const localModel = `$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json
name: local-file-example
path: mlflow-model/model.pkl
description: Model created from local file.
version: 1
tags:
  framework: sklearn
  accuracy: 0.97
`

func TestParseModelValid(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		opts Options
		want *ModelSpec
	}{{
		name: "Azure's local file example",
		yaml: localModel,
		want: &ModelSpec{
			Name:        "local-file-example",
			Version:     "1",
			Path:        "mlflow-model/model.pkl",
			Type:        "custom_model",
			Description: "Model created from local file.",
			Tags:        map[string]string{"framework": "sklearn", "accuracy": "0.97"},
		},
	}, {
		name: "a job's output as an MLflow model, without a version",
		yaml: "name: iris.v2_x\npath: azureml://jobs/train-1/outputs/model\ntype: mlflow_model\n",
		want: &ModelSpec{Name: "iris.v2_x", Path: "azureml://jobs/train-1/outputs/model",
			Type: "mlflow_model"},
	}, {
		name: "a file: path and a version with dots",
		yaml: "name: iris\nversion: 1.0.2\npath: file:./model\n",
		want: &ModelSpec{Name: "iris", Version: "1.0.2", Path: "file:./model", Type: "custom_model"},
	}, {
		name: "a name of 255 characters",
		yaml: "name: " + strings.Repeat("m", 255) + "\npath: ./m\n",
		want: &ModelSpec{Name: strings.Repeat("m", 255), Path: "./m", Type: "custom_model"},
	}, {
		name: "--name and --set",
		yaml: "name: from-file\npath: ./m\n",
		opts: Options{Name: "iris", Set: []string{"version=7"}},
		want: &ModelSpec{Name: "iris", Version: "7", Path: "./m", Type: "custom_model"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseModel([]byte(tt.yaml), tt.opts)
			if err != nil {
				t.Fatalf("ParseModel: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseModel mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const modelPathHint = "give a local file or folder, or a job's output, such as " +
	"azureml://jobs/<job>/outputs/<name>"

var modelErrorCases = []errorCase{{
	name: "no name and no path",
	yaml: "description: x\n",
	want: "name: the model has no name; add one, such as name: iris\n" +
		"path: the model has no path; add one, such as path: ./model, or a job's output, such " +
		"as path: azureml://jobs/<job>/outputs/<name>",
}, {
	name: "invalid name",
	yaml: "name: my model\npath: ./m\n",
	want: `line 1: name: "my model" is not a valid model name; use letters, digits, _, - and ., ` +
		`starting with a letter or digit`,
}, {
	name: "name starting with a dot",
	yaml: "name: .iris\npath: ./m\n",
	want: `line 1: name: ".iris" is not a valid model name; use letters, digits, _, - and ., ` +
		`starting with a letter or digit`,
}, {
	name: "name too long",
	yaml: "name: " + strings.Repeat("m", 256) + "\npath: ./m\n",
	want: "line 1: name: the model name is 256 characters long; use at most 255",
}, {
	name: "invalid version",
	yaml: "name: iris\nversion: 1 beta\npath: ./m\n",
	want: `line 2: version: "1 beta" is not a valid version; use letters, digits, _, - and ., ` +
		`starting with a letter or digit, such as 1`,
}, {
	name: "triton models",
	yaml: "name: iris\npath: ./m\ntype: triton_model\n",
	want: "line 3: type: triton_model models are not supported yet; use custom_model or " +
		"mlflow_model",
}, {
	name: "unknown type",
	yaml: "name: iris\npath: ./m\ntype: mlflow\n",
	want: `line 3: type: unknown model type "mlflow"; use one of: custom_model, mlflow_model`,
}, {
	name: "type in the wrong case",
	yaml: "name: iris\npath: ./m\ntype: MLflow_Model\n",
	want: `line 3: type: unknown model type "MLflow_Model"; did you mean "mlflow_model"?`,
}, {
	name: "URL path",
	yaml: "name: iris\npath: https://x/m.pkl\n",
	want: `line 2: path: "https:" paths are not supported yet; ` + modelPathHint,
}, {
	name: "datastore path",
	yaml: "name: iris\npath: azureml://datastores/workspaceblobstore/paths/m\n",
	want: "line 2: path: azureml:// paths other than job outputs are not supported yet; " +
		modelPathHint,
}, {
	name: "path inside a job's artifacts",
	yaml: "name: iris\npath: azureml://jobs/j1/outputs/artifacts/paths/model/\n",
	want: "line 2: path: azureml:// paths other than job outputs are not supported yet; " +
		modelPathHint,
}, {
	name: "a data asset reference",
	yaml: "name: iris\npath: azureml:iris-data:1\n",
	want: `line 2: path: "azureml:iris-data:1" names a registered asset, not a path; ` +
		modelPathHint,
}, {
	name: "empty file: path",
	yaml: "name: iris\npath: 'file:'\n",
	want: `line 2: path: the path after "file:" is empty; give a local file or folder, such ` +
		`as file:./model`,
}, {
	name: "empty path",
	yaml: "name: iris\npath: ''\n",
	want: "line 2: path: is empty; " + modelPathHint,
}, {
	name: "stage",
	yaml: "name: iris\npath: ./m\nstage: Production\n",
	want: "line 3: stage: model stages are not supported yet; remove stage, and use tags to " +
		"mark a model's stage",
}, {
	name: "misspelt field",
	yaml: "name: iris\npaht: ./m\n",
	want: `line 2: unknown field "paht"; did you mean "path"?`,
}, {
	name: "malformed --set",
	yaml: "name: iris\npath: ./m\n",
	opts: Options{Set: []string{"=2"}},
	want: `--set "=2": the path before = is empty; write path=value, such as version=2`,
}, {
	name: "a file that is a word",
	yaml: "iris\n",
	want: `line 1: expected a mapping of model fields such as name: and path:, found "iris"`,
}}

func TestParseModelErrors(t *testing.T) {
	checkErrors(t, ParseModel, modelErrorCases)
}
