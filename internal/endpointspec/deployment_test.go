package endpointspec

import (
	"testing"

	v1 "berth/api/v1"
	"github.com/google/go-cmp/cmp"
)

// blueDeployment is a deployment file as Azure ML's documentation writes one for a Kubernetes
// online endpoint: an inline model, scoring code, an environment with a conda file and an
// image, request settings, an instance type and resources.
const blueDeployment = `$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json
name: blue
type: kubernetes
endpoint_name: my-endpoint
model:
  path: ./model/sklearn_mnist_model.pkl
code_configuration:
  code: ./onlinescoring/
  scoring_script: score.py
environment:
  conda_file: ./environment/conda.yml
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
request_settings:
  request_timeout_ms: 3000
  max_queue_wait_ms: 3000
resources:
  requests:
    cpu: "0.1"
    memory: "0.1Gi"
  limits:
    cpu: "0.2"
    #nvidia.com/gpu: 0
    memory: "0.2Gi"
tags:
  tag1: deployment-tag1-value
instance_count: 1
instance_type: defaultinstancetype
scale_settings:
  type: default
`

// fullDeployment uses every field berth keeps.
const fullDeployment = `name: green
endpoint_name: my-endpoint
type: Kubernetes
description: The next model.
tags: {stage: canary, try: 2}
model:
  path: file:./model
  name: mnist
  version: 3
  type: custom_model
  description: digits
code_configuration:
  code: src
  scoring_script: ./scoring/score.py
environment: azureml:sklearn-env@latest
environment_variables:
  WORKERS: 2
  DEBUG: true
instance_count: 2
instance_type: gpu-small
request_settings:
  request_timeout_ms: 90000
  max_concurrent_requests_per_instance: 4
  max_queue_wait_ms: 0
liveness_probe:
  initial_delay: 0
  period: 5
readiness_probe:
  timeout: 3
  success_threshold: 2
  failure_threshold: 3
resources:
  requests:
    cpu: 500m
    memory: 1.5Gi
    nvidia.com/gpu: 1
  limits:
    cpu: 2
    memory: 2Gi
    nvidia.com/gpu: 1
scale_settings:
  type: target_utilization
  min_instances: 1
  max_instances: 4
  polling_interval: 10
  target_utilization_percentage: 60
app_insights_enabled: false
`

func defaultProbePtr() *v1.Probe {
	p := defaultProbe
	return &p
}

func TestParseDeploymentFull(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		want      *v1.OnlineDeploymentSpec
		wantPaths []LocalPath
	}{{
		name: "Azure's blue deployment",
		yaml: blueDeployment,
		want: &v1.OnlineDeploymentSpec{
			Name:         "blue",
			EndpointName: "my-endpoint",
			Tags:         map[string]string{"tag1": "deployment-tag1-value"},
			Model:        &v1.DeploymentModel{Path: "./model/sklearn_mnist_model.pkl"},
			CodeConfiguration: &v1.CodeConfiguration{
				Code: "./onlinescoring/", ScoringScript: "score.py",
			},
			Environment: &v1.Environment{
				Image:     "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest",
				CondaFile: "./environment/conda.yml",
			},
			InstanceCount: 1,
			InstanceType:  "defaultinstancetype",
			RequestSettings: v1.RequestSettings{
				RequestTimeoutMS:                 3000,
				MaxConcurrentRequestsPerInstance: 1,
				MaxQueueWaitMS:                   3000,
			},
			LivenessProbe:  defaultProbePtr(),
			ReadinessProbe: defaultProbePtr(),
			Resources: &v1.DeploymentResources{
				Requests: v1.ResourceList{"cpu": "0.1", "memory": "0.1Gi"},
				Limits:   v1.ResourceList{"cpu": "0.2", "memory": "0.2Gi"},
			},
			ScaleSettings: &v1.ScaleSettings{Type: "default"},
		},
		wantPaths: []LocalPath{
			{Part: "code", Path: "./onlinescoring/"},
			{Part: "model", Path: "./model/sklearn_mnist_model.pkl"},
		},
	}, {
		name: "every field",
		yaml: fullDeployment,
		want: &v1.OnlineDeploymentSpec{
			Name:         "green",
			EndpointName: "my-endpoint",
			Description:  "The next model.",
			Tags:         map[string]string{"stage": "canary", "try": "2"},
			Model:        &v1.DeploymentModel{Path: "file:./model", Name: "mnist", Version: "3"},
			CodeConfiguration: &v1.CodeConfiguration{
				Code: "src", ScoringScript: "scoring/score.py",
			},
			Environment:          &v1.Environment{Ref: "azureml:sklearn-env@latest"},
			EnvironmentVariables: map[string]string{"WORKERS": "2", "DEBUG": "true"},
			InstanceCount:        2,
			InstanceType:         "gpu-small",
			RequestSettings: v1.RequestSettings{
				RequestTimeoutMS:                 90000,
				MaxConcurrentRequestsPerInstance: 4,
				MaxQueueWaitMS:                   0,
			},
			LivenessProbe: &v1.Probe{
				InitialDelay: 0, Period: 5, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30,
			},
			ReadinessProbe: &v1.Probe{
				InitialDelay: 10, Period: 10, Timeout: 3, SuccessThreshold: 2, FailureThreshold: 3,
			},
			Resources: &v1.DeploymentResources{
				Requests: v1.ResourceList{"cpu": "500m", "memory": "1.5Gi", "nvidia.com/gpu": "1"},
				Limits:   v1.ResourceList{"cpu": "2", "memory": "2Gi", "nvidia.com/gpu": "1"},
			},
			ScaleSettings: &v1.ScaleSettings{
				Type: "target_utilization", MinInstances: 1, MaxInstances: 4, PollingInterval: 10,
				TargetUtilizationPercentage: 60,
			},
		},
		wantPaths: []LocalPath{{Part: "code", Path: "src"}, {Part: "model", Path: "./model"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDeployment([]byte(tt.yaml), Options{})
			if err != nil {
				t.Fatalf("ParseDeployment: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDeployment mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPaths, LocalPaths(got)); diff != "" {
				t.Errorf("LocalPaths mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// minimalDeployment is the smallest valid deployment file.
const minimalDeployment = "name: blue\nendpoint_name: my-endpoint\ncode_configuration:\n" +
	"  code: ./src\n  scoring_script: score.py\n"

// deployment is the spec of minimalDeployment, changed by change.
func deployment(change func(*v1.OnlineDeploymentSpec)) *v1.OnlineDeploymentSpec {
	s := &v1.OnlineDeploymentSpec{
		Name:              "blue",
		EndpointName:      "my-endpoint",
		CodeConfiguration: &v1.CodeConfiguration{Code: "./src", ScoringScript: "score.py"},
		InstanceCount:     1,
		RequestSettings: v1.RequestSettings{
			RequestTimeoutMS:                 5000,
			MaxConcurrentRequestsPerInstance: 1,
			MaxQueueWaitMS:                   500,
		},
		LivenessProbe:  defaultProbePtr(),
		ReadinessProbe: defaultProbePtr(),
	}
	if change != nil {
		change(s)
	}
	return s
}

var validDeploymentCases = []struct {
	name string
	yaml string
	opts Options
	want *v1.OnlineDeploymentSpec
}{{
	name: "the least a deployment needs gets Azure's defaults",
	yaml: minimalDeployment,
	want: deployment(nil),
}, {
	name: "a registered model by version",
	yaml: minimalDeployment + "model: azureml:iris:1\n",
	want: deployment(func(s *v1.OnlineDeploymentSpec) {
		s.Model = &v1.DeploymentModel{Ref: "azureml:iris:1"}
	}),
}, {
	name: "the latest version of a registered model",
	yaml: minimalDeployment + "model: azureml:iris.v2_x@latest\n",
	want: deployment(func(s *v1.OnlineDeploymentSpec) {
		s.Model = &v1.DeploymentModel{Ref: "azureml:iris.v2_x@latest"}
	}),
}, {
	name: "an mlflow model inline with a Windows path",
	yaml: minimalDeployment + "model:\n  path: 'C:\\models\\iris'\n  type: mlflow_model\n",
	want: deployment(func(s *v1.OnlineDeploymentSpec) {
		s.Model = &v1.DeploymentModel{Path: `C:\models\iris`}
	}),
}, {
	name: "null fields count as absent",
	yaml: minimalDeployment + "model:\nenvironment:\ninstance_count:\nrequest_settings:\n" +
		"liveness_probe:\nresources:\nscale_settings:\napp_insights_enabled:\ntype:\n",
	want: deployment(nil),
}, {
	name: "a managed deployment",
	yaml: minimalDeployment + "type: managed\ninstance_type: Standard_DS3_v2\n",
	want: deployment(func(s *v1.OnlineDeploymentSpec) { s.InstanceType = "Standard_DS3_v2" }),
}, {
	name: "a scoring script in a subfolder, with backslashes",
	yaml: "name: blue\nendpoint_name: my-endpoint\ncode_configuration:\n  code: ./src\n" +
		"  scoring_script: 'app\\score.py'\n",
	want: deployment(func(s *v1.OnlineDeploymentSpec) {
		s.CodeConfiguration.ScoringScript = "app/score.py"
	}),
}, {
	name: "a scoring script that goes down and back up stays inside",
	yaml: "name: blue\nendpoint_name: my-endpoint\ncode_configuration:\n  code: ./src\n" +
		"  scoring_script: app/../score.py\n",
	want: deployment(nil),
}, {
	name: "target utilization with Azure's defaults starts with min_instances",
	yaml: minimalDeployment + "scale_settings:\n  type: Target_Utilization\n  min_instances: 2\n" +
		"  max_instances: 5\n",
	want: deployment(func(s *v1.OnlineDeploymentSpec) {
		s.InstanceCount = 2
		s.ScaleSettings = &v1.ScaleSettings{Type: "target_utilization", MinInstances: 2,
			MaxInstances: 5, PollingInterval: 1, TargetUtilizationPercentage: 70}
	}),
}, {
	name: "a GPU limit alone",
	yaml: minimalDeployment + "resources:\n  limits:\n    nvidia.com/gpu: 2\n",
	want: deployment(func(s *v1.OnlineDeploymentSpec) {
		s.Resources = &v1.DeploymentResources{Limits: v1.ResourceList{"nvidia.com/gpu": "2"}}
	}),
}, {
	name: "quantities in every form Kubernetes takes",
	yaml: minimalDeployment + "resources:\n  requests:\n    cpu: .5\n    memory: 1e9\n" +
		"    nvidia.com/gpu: 1000m\n  limits:\n    cpu: 1\n    memory: 1G\n    nvidia.com/gpu: 1\n",
	want: deployment(func(s *v1.OnlineDeploymentSpec) {
		s.Resources = &v1.DeploymentResources{
			Requests: v1.ResourceList{"cpu": ".5", "memory": "1e9", "nvidia.com/gpu": "1000m"},
			Limits:   v1.ResourceList{"cpu": "1", "memory": "1G", "nvidia.com/gpu": "1"},
		}
	}),
}, {
	name: "an empty resources mapping is none",
	yaml: minimalDeployment + "resources:\n  requests: {}\n",
	want: deployment(nil),
}, {
	name: "--name overrides the file's name",
	yaml: minimalDeployment,
	opts: Options{Name: "green"},
	want: deployment(func(s *v1.OnlineDeploymentSpec) { s.Name = "green" }),
}, {
	name: "--set changes a field",
	yaml: minimalDeployment,
	opts: Options{Set: []string{"instance_count=3", "request_settings.request_timeout_ms=100"}},
	want: deployment(func(s *v1.OnlineDeploymentSpec) {
		s.InstanceCount = 3
		s.RequestSettings.RequestTimeoutMS = 100
	}),
}}

func TestParseDeploymentValid(t *testing.T) {
	for _, tt := range validDeploymentCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDeployment([]byte(tt.yaml), tt.opts)
			if err != nil {
				t.Fatalf("ParseDeployment: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDeployment mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// withScript is a deployment whose scoring script is script.
func withScript(script string) string {
	return "name: blue\nendpoint_name: my-endpoint\ncode_configuration:\n  code: ./src\n" +
		"  scoring_script: " + script + "\n"
}

const scriptHint = "give the script's path relative to the code folder, such as score.py"

var deploymentErrorCases = []errorCase{{
	name: "missing names",
	yaml: "code_configuration:\n  code: ./src\n  scoring_script: score.py\n",
	want: "name: the deployment has no name; add one, such as name: blue\n" +
		"endpoint_name: the deployment has no endpoint_name; add the name of its endpoint, " +
		"such as endpoint_name: my-endpoint",
}, {
	name: "invalid names",
	yaml: "name: b\nendpoint_name: my_endpoint\ncode_configuration:\n  code: ./src\n" +
		"  scoring_script: score.py\n",
	want: `line 1: name: "b" is not a valid deployment name;` + nameRule + "\n" +
		`line 2: endpoint_name: "my_endpoint" is not a valid endpoint name;` + nameRule,
}, {
	name: "no code_configuration",
	yaml: "name: blue\nendpoint_name: my-endpoint\nmodel: azureml:iris:1\n",
	want: "code_configuration: the deployment has no code_configuration; berth serves a model " +
		"by running its scoring script (deployments without code, which Azure ML makes for " +
		"MLflow models, are not supported yet), so add code_configuration with code (the " +
		"folder) and scoring_script (the file in it, such as score.py)",
}, {
	name: "empty code_configuration",
	yaml: "name: blue\nendpoint_name: my-endpoint\ncode_configuration: {}\n",
	want: "line 3: code_configuration: has no code; add code:, the folder that holds the " +
		"scoring script, such as code: ./src\n" +
		"line 3: code_configuration: has no scoring_script; add scoring_script:, the file in " +
		"code that serves requests, such as scoring_script: score.py",
}, {
	name: "code_configuration that is a string",
	yaml: "name: blue\nendpoint_name: my-endpoint\ncode_configuration: ./src\n",
	want: `line 3: code_configuration: expected a mapping with code and scoring_script, ` +
		`found "./src"`,
}, {
	name: "scoring script outside the code folder",
	yaml: withScript("../score.py"),
	want: `line 5: code_configuration.scoring_script: "../score.py" leaves the code folder; ` +
		scriptHint,
}, {
	name: "scoring script that leaves the code folder further down",
	yaml: withScript("a/../../score.py"),
	want: `line 5: code_configuration.scoring_script: "a/../../score.py" leaves the code ` +
		`folder; ` + scriptHint,
}, {
	name: "absolute scoring script",
	yaml: withScript("/src/score.py"),
	want: `line 5: code_configuration.scoring_script: "/src/score.py" is not relative to the ` +
		`code folder; ` + scriptHint,
}, {
	name: "absolute Windows scoring script",
	yaml: withScript(`'C:\src\score.py'`),
	want: `line 5: code_configuration.scoring_script: "C:\\src\\score.py" is not relative to ` +
		`the code folder; ` + scriptHint,
}, {
	name: "scoring script naming the folder",
	yaml: withScript("./"),
	want: `line 5: code_configuration.scoring_script: "./" names the code folder itself, not ` +
		`a file in it; ` + scriptHint,
}, {
	name: "empty scoring script",
	yaml: withScript("''"),
	want: "line 5: code_configuration.scoring_script: is empty; " + scriptHint,
}, {
	name: "code that is a URL",
	yaml: "name: blue\nendpoint_name: my-endpoint\ncode_configuration:\n  code: https://x/y\n" +
		"  scoring_script: score.py\n",
	want: "line 4: code_configuration.code: code must be a local folder, relative to the " +
		"deployment file; code assets and URLs are not supported yet",
}, {
	name: "empty code",
	yaml: "name: blue\nendpoint_name: my-endpoint\ncode_configuration:\n  code: ''\n" +
		"  scoring_script: score.py\n",
	want: "line 4: code_configuration.code: is empty; give the folder that holds the scoring " +
		"script, such as ./src",
}, {
	name: "model reference without a version",
	yaml: minimalDeployment + "model: azureml:iris\n",
	want: `line 6: model: "azureml:iris" is not a model reference; use ` +
		`azureml:<name>:<version> or azureml:<name>@latest, or a mapping with a path, such as ` +
		`path: ./model`,
}, {
	name: "model path as a string",
	yaml: minimalDeployment + "model: ./model\n",
	want: `line 6: model: "./model" is not a model reference; use azureml:<name>:<version> or ` +
		`azureml:<name>@latest, or a mapping with a path, such as path: ./model`,
}, {
	name: "model from a registry",
	yaml: minimalDeployment + "model: azureml://registries/azureml/models/iris/versions/1\n",
	want: "line 6: model: models from registries are not supported yet; register the model in " +
		"the workspace, then use azureml:<name>:<version>",
}, {
	name: "model that is a list",
	yaml: minimalDeployment + "model: [a]\n",
	want: "line 6: model: expected a model reference such as azureml:iris:1, or a mapping with " +
		"a path; found a list",
}, {
	name: "inline model without a path",
	yaml: minimalDeployment + "model:\n  name: iris\n",
	want: "line 7: model: an inline model needs a path; add path:, such as path: ./model, or " +
		"use a registered model, such as model: azureml:iris:1",
}, {
	name: "inline model with a remote path",
	yaml: minimalDeployment + "model:\n  path: https://x/model.pkl\n",
	want: `line 7: model.path: "https://x/model.pkl" is not a local path; an inline model is a ` +
		`file or folder uploaded with the deployment, so give its local path, or register the ` +
		`model (berth ml model create) and use azureml:<name>:<version>`,
}, {
	name: "inline model with a bad name, version and type",
	yaml: minimalDeployment + "model:\n  path: ./m\n  name: my model\n  version: 1 beta\n" +
		"  type: triton_model\n",
	want: `line 8: model.name: "my model" is not a valid model name; use letters, digits, _, - ` +
		`and ., starting with a letter or digit` + "\n" +
		`line 9: model.version: "1 beta" is not a valid version; use letters, digits, _, - and ` +
		`., starting with a letter or digit, such as 1` + "\n" +
		"line 10: model.type: triton_model models are not supported yet; use custom_model or " +
		"mlflow_model",
}, {
	name: "unknown deployment type",
	yaml: minimalDeployment + "type: batch\n",
	want: `line 6: type: unknown deployment type "batch"; use one of: kubernetes, managed`,
}, {
	name: "misspelt deployment type",
	yaml: minimalDeployment + "type: Kubernete\n",
	want: `line 6: type: unknown deployment type "Kubernete"; did you mean "kubernetes"?`,
}, {
	name: "instance_count 0",
	yaml: minimalDeployment + "instance_count: 0\n",
	want: "line 6: instance_count: expected a whole number of instances, at least 1, found 0",
}, {
	name: "instance_count that is not a number",
	yaml: minimalDeployment + "instance_count: two\n",
	want: `line 6: instance_count: expected a whole number of instances, at least 1, found "two"`,
}, {
	name: "empty instance_type",
	yaml: minimalDeployment + "instance_type: ''\n",
	want: "line 6: instance_type: is empty; name an instance type, or remove the field",
}, {
	name: "Application Insights",
	yaml: minimalDeployment + "app_insights_enabled: true\n",
	want: "line 6: app_insights_enabled: Application Insights is not supported yet; remove " +
		"app_insights_enabled, or set it to false, and read the deployment's logs and its " +
		"/metrics instead",
}, {
	name: "app_insights_enabled that is not a boolean",
	yaml: minimalDeployment + "app_insights_enabled: yes\n",
	want: `line 6: app_insights_enabled: expected true or false, found "yes"`,
}, {
	name: "fields Azure has and berth does not yet",
	yaml: minimalDeployment + "data_collector: {}\negress_public_network_access: disabled\n" +
		"private_network_connection: true\nmodel_mount_path: /m\n",
	want: "line 6: data_collector: collecting scoring data is not supported yet; remove " +
		"data_collector\n" +
		"line 7: egress_public_network_access: egress_public_network_access is not supported " +
		"yet; remove it, and limit the deployment's outbound traffic with the cluster's " +
		"network policies\n" +
		"line 8: private_network_connection: private_network_connection is not supported yet; " +
		"remove it\n" +
		"line 9: model_mount_path: model_mount_path is not supported yet; remove it, and find " +
		"the model in the folder that AZUREML_MODEL_DIR names",
}, {
	name: "request settings below their minimum",
	yaml: minimalDeployment + "request_settings:\n  request_timeout_ms: 0\n" +
		"  max_concurrent_requests_per_instance: 0\n  max_queue_wait_ms: -1\n",
	want: "line 7: request_settings.request_timeout_ms: expected a whole number of " +
		"milliseconds from 1 to 300000, found 0\n" +
		"line 8: request_settings.max_concurrent_requests_per_instance: expected a whole " +
		"number of requests, at least 1, found 0\n" +
		"line 9: request_settings.max_queue_wait_ms: expected a whole number of milliseconds, " +
		"at least 0, found -1",
}, {
	name: "request timeout above five minutes",
	yaml: minimalDeployment + "request_settings:\n  request_timeout_ms: 300001\n" +
		"  max_queue_wait_ms: 1.5\n",
	want: "line 7: request_settings.request_timeout_ms: expected a whole number of " +
		"milliseconds from 1 to 300000, found 300001\n" +
		`line 8: request_settings.max_queue_wait_ms: expected a whole number of milliseconds, ` +
		`at least 0, found "1.5"`,
}, {
	name: "misspelt request setting",
	yaml: minimalDeployment + "request_settings:\n  request_timeout: 100\n",
	want: `line 7: request_settings: unknown field "request_timeout"; did you mean ` +
		`"request_timeout_ms"?`,
}, {
	name: "probe values out of range",
	yaml: minimalDeployment + "liveness_probe:\n  initial_delay: -1\n  period: 0\n  timeout: 0\n" +
		"  success_threshold: 2\n  failure_threshold: 0\nreadiness_probe:\n  period: 10s\n",
	want: "line 7: liveness_probe.initial_delay: expected a whole number of seconds, at least " +
		"0, found -1\n" +
		"line 8: liveness_probe.period: expected a whole number of seconds, at least 1, found 0\n" +
		"line 9: liveness_probe.timeout: expected a whole number of seconds, at least 1, found 0\n" +
		"line 10: liveness_probe.success_threshold: must be 1 for a liveness probe, found 2; " +
		"Kubernetes allows no other value\n" +
		"line 11: liveness_probe.failure_threshold: expected a whole number of probes, at " +
		"least 1, found 0\n" +
		`line 13: readiness_probe.period: expected a whole number of seconds, at least 1, ` +
		`found "10s"`,
}, {
	name: "misspelt probe field",
	yaml: minimalDeployment + "readiness_probe:\n  intial_delay: 5\n",
	want: `line 7: readiness_probe: unknown field "intial_delay"; did you mean "initial_delay"?`,
}, {
	name: "invalid quantities",
	yaml: minimalDeployment + "resources:\n  requests:\n    cpu: 2 cores\n    memory: 1GB\n" +
		"    nvidia.com/gpu: 0.5\n  limits:\n    cpu: -1\n",
	want: `line 8: resources.requests.cpu: "2 cores" is not a Kubernetes quantity; give a ` +
		`number with an optional suffix, such as 500m or 2` + "\n" +
		`line 9: resources.requests.memory: "1GB" is not a Kubernetes quantity; give a number ` +
		`with an optional suffix, such as 512Mi or 2Gi` + "\n" +
		`line 10: resources.requests.nvidia.com/gpu: "0.5" is not a whole number; Kubernetes ` +
		`hands out whole GPUs, so give 0, 1, 2 and so on` + "\n" +
		`line 12: resources.limits.cpu: "-1" is negative; give a quantity of 0 or more`,
}, {
	name: "requests above limits",
	yaml: minimalDeployment + "resources:\n  requests:\n    cpu: '2'\n    memory: 2Gi\n" +
		"  limits:\n    cpu: 1500m\n    memory: 1Gi\n",
	want: "line 8: resources.requests.cpu: the request 2 is above the limit 1500m; lower the " +
		"request, or raise the limit\n" +
		"line 9: resources.requests.memory: the request 2Gi is above the limit 1Gi; lower the " +
		"request, or raise the limit",
}, {
	name: "GPU request above its limit",
	yaml: minimalDeployment + "resources:\n  requests:\n    nvidia.com/gpu: 2\n  limits:\n" +
		"    nvidia.com/gpu: 1\n",
	want: "line 8: resources.requests.nvidia.com/gpu: the request 2 is above the limit 1; " +
		"lower the request, or raise the limit",
}, {
	name: "GPU request below its limit",
	yaml: minimalDeployment + "resources:\n  requests:\n    nvidia.com/gpu: 1\n  limits:\n" +
		"    nvidia.com/gpu: 2\n",
	want: "line 8: resources.requests.nvidia.com/gpu: the request 1 differs from the limit 2; " +
		"GPUs cannot be shared, so give the same number in both, or give only the limit",
}, {
	name: "GPU request without a limit",
	yaml: minimalDeployment + "resources:\n  requests:\n    nvidia.com/gpu: 1\n",
	want: "line 8: resources.requests.nvidia.com/gpu: a GPU request needs a limit; add " +
		"resources.limits.nvidia.com/gpu: 1, or give only the limit",
}, {
	name: "misspelt resources",
	yaml: minimalDeployment + "resources:\n  request:\n    cpu: 1\n  limits:\n    gpu: 1\n" +
		"    ephemeral-storage: 1Gi\n",
	want: `line 7: resources: unknown field "request"; did you mean "requests"?` + "\n" +
		`line 10: resources.limits: unknown field "gpu"; did you mean "nvidia.com/gpu"?` + "\n" +
		`line 11: resources.limits: unknown field "ephemeral-storage"; valid fields are: cpu, ` +
		`memory, nvidia.com/gpu`,
}, {
	name: "resources of the wrong kind",
	yaml: minimalDeployment + "resources:\n  requests: 1\n  limits:\n    cpu: [1]\n",
	want: `line 7: resources.requests: expected a mapping of cpu, memory and nvidia.com/gpu to ` +
		`quantities, such as cpu: 500m, found "1"` + "\n" +
		"line 9: resources.limits.cpu: expected a string, found a list",
}, {
	name: "scale settings without a type",
	yaml: minimalDeployment + "scale_settings:\n  min_instances: 1\n",
	want: "line 7: scale_settings: has no type; add type: with one of: default, " +
		"target_utilization",
}, {
	name: "unknown scale type",
	yaml: minimalDeployment + "scale_settings:\n  type: auto\n",
	want: `line 7: scale_settings.type: unknown scale type "auto"; use one of: default, ` +
		`target_utilization`,
}, {
	name: "target utilization fields with the default type",
	yaml: minimalDeployment + "scale_settings:\n  type: default\n  max_instances: 3\n",
	want: "line 8: scale_settings.max_instances: applies only to type: target_utilization; " +
		"remove max_instances, or set type: target_utilization",
}, {
	name: "min_instances above max_instances",
	yaml: minimalDeployment + "scale_settings:\n  type: target_utilization\n  min_instances: 3\n" +
		"  max_instances: 2\n",
	want: "line 9: scale_settings: min_instances (3) is above max_instances (2); raise " +
		"max_instances, or lower min_instances",
}, {
	name: "min_instances above the default max_instances",
	yaml: minimalDeployment + "scale_settings:\n  type: target_utilization\n  min_instances: 3\n",
	want: "line 8: scale_settings: min_instances (3) is above max_instances (1, the default); " +
		"raise max_instances, or lower min_instances",
}, {
	name: "scale values out of range",
	yaml: minimalDeployment + "scale_settings:\n  type: target_utilization\n  min_instances: 0\n" +
		"  max_instances: 0\n  polling_interval: 0\n  target_utilization_percentage: 101\n",
	want: "line 8: scale_settings.min_instances: expected a whole number of instances, at " +
		"least 1, found 0\n" +
		"line 9: scale_settings.max_instances: expected a whole number of instances, at least " +
		"1, found 0\n" +
		"line 10: scale_settings.polling_interval: expected a whole number of seconds, at " +
		"least 1, found 0\n" +
		"line 11: scale_settings.target_utilization_percentage: expected a whole percentage " +
		"from 1 to 100, found 101",
}, {
	name: "instance_count outside the scale range",
	yaml: minimalDeployment + "instance_count: 5\nscale_settings:\n  type: target_utilization\n" +
		"  min_instances: 1\n  max_instances: 3\n",
	want: "line 6: instance_count: 5 is outside the scale settings' range of 1 to 3 " +
		"instances; give an instance_count within it, or remove instance_count to start with " +
		"min_instances",
}, {
	name: "environment variables",
	yaml: minimalDeployment + "environment_variables:\n  A=B: 1\n  C: [1]\n",
	want: `line 7: environment_variables: "A=B" is not a valid variable name; use a name ` +
		`without = or NUL in it` + "\n" +
		"line 8: environment_variables.C: expected a string, number or boolean, found a list; " +
		"quote the value to pass it as text",
}, {
	name: "environment that is not a reference",
	yaml: minimalDeployment + "environment: python:3.12\n",
	want: `line 6: environment: "python:3.12" is not an environment reference; use ` +
		`azureml:<name>:<version> or azureml:<name>@latest, or a mapping with an image`,
}, {
	name: "inline environment without an image",
	yaml: minimalDeployment + "environment:\n  conda_file: conda.yml\n",
	want: "line 7: environment: an inline environment needs an image; add image:, such as " +
		"image: python:3.12-slim",
}, {
	name: "aliases that name too much",
	yaml: "name: blue\nendpoint_name: my-endpoint\ntags: &a {x: *a}\n" +
		"code_configuration: *a\n",
	want: "line 3: the aliases in the file (such as *a) name too many values; write the " +
		"values out",
}, {
	name: "a file that is a list",
	yaml: "[]\n",
	want: "line 1: expected a mapping of deployment fields such as endpoint_name: and model:, " +
		"found a list",
}, {
	name: "malformed --set",
	yaml: minimalDeployment,
	opts: Options{Set: []string{"instance_count"}},
	want: `--set "instance_count": expected path=value, such as instance_count=2`,
}}

func TestParseDeploymentErrors(t *testing.T) {
	checkErrors(t, ParseDeployment, deploymentErrorCases)
}

func TestLocalPaths(t *testing.T) {
	tests := []struct {
		name string
		spec *v1.OnlineDeploymentSpec
		want []LocalPath
	}{
		{"nil", nil, nil},
		{"no code, no model", &v1.OnlineDeploymentSpec{}, nil},
		{"a registered model is not uploaded", &v1.OnlineDeploymentSpec{
			CodeConfiguration: &v1.CodeConfiguration{Code: "file://src"},
			Model:             &v1.DeploymentModel{Ref: "azureml:iris:1", Path: "ignored"},
		}, []LocalPath{{Part: "code", Path: "src"}}},
		{"an inline model", &v1.OnlineDeploymentSpec{
			Model: &v1.DeploymentModel{Path: "/abs/model.pkl"},
		}, []LocalPath{{Part: "model", Path: "/abs/model.pkl"}}},
		{"remote paths are not uploaded", &v1.OnlineDeploymentSpec{
			CodeConfiguration: &v1.CodeConfiguration{Code: "https://x/src"},
			Model:             &v1.DeploymentModel{Path: "azureml://jobs/j/outputs/m"},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, LocalPaths(tt.spec)); diff != "" {
				t.Errorf("LocalPaths mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
