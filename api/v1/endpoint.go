package v1

import "time"

// Model is a registered model version.
type Model struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Type is custom_model (a folder or file) or mlflow_model.
	Type string `json:"type"`
	// Path is where the model came from, as the user gave it: a local path or a job output
	// (azureml://jobs/<job>/outputs/<output>).
	Path string `json:"path"`
	// FileName is the name of the file when the model is one file; empty for a folder, which
	// is kept under the folder's own name.
	FileName        string          `json:"file_name,omitempty"`
	FolderName      string          `json:"folder_name,omitempty"`
	CreationContext CreationContext `json:"creation_context"`
}

// Endpoint auth modes.
const (
	AuthKey      = "key"
	AuthAMLToken = "aml_token"
)

// Provisioning states of endpoints and deployments.
const (
	StateCreating  = "Creating"
	StateUpdating  = "Updating"
	StateSucceeded = "Succeeded"
	StateFailed    = "Failed"
	StateDeleting  = "Deleting"
)

// OnlineEndpointSpec is what a kubernetesOnlineEndpoint file says.
type OnlineEndpointSpec struct {
	Name          string            `json:"name" yaml:"name"`
	Description   string            `json:"description,omitempty" yaml:"description,omitempty"`
	Tags          map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Compute       string            `json:"compute" yaml:"compute"`
	AuthMode      string            `json:"auth_mode" yaml:"auth_mode"`
	Traffic       map[string]int    `json:"traffic" yaml:"traffic"`
	MirrorTraffic map[string]int    `json:"mirror_traffic,omitempty" yaml:"mirror_traffic,omitempty"`
}

// OnlineEndpoint is an endpoint of the workspace. Keys are never part of it: get-credentials
// returns them.
type OnlineEndpoint struct {
	OnlineEndpointSpec
	ScoringURI        string          `json:"scoring_uri"`
	ProvisioningState string          `json:"provisioning_state"`
	Error             *JobError       `json:"error,omitempty"`
	CreationContext   CreationContext `json:"creation_context"`
}

// CodeConfiguration names the scoring script of a deployment.
type CodeConfiguration struct {
	Code          string `json:"code" yaml:"code"`
	ScoringScript string `json:"scoring_script" yaml:"scoring_script"`
}

// DeploymentModel is a deployment's model: a reference to a registered model (Ref, such as
// azureml:iris:1 or azureml:iris@latest) or an inline path uploaded with the deployment.
type DeploymentModel struct {
	Ref  string `json:"ref,omitempty" yaml:"ref,omitempty"`
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Version is filled in when the deployment is created: the version a reference resolved to.
	Version string `json:"version,omitempty" yaml:"version,omitempty"`
}

// RequestSettings bound each scoring request.
type RequestSettings struct {
	RequestTimeoutMS                 int `json:"request_timeout_ms" yaml:"request_timeout_ms"`
	MaxConcurrentRequestsPerInstance int `json:"max_concurrent_requests_per_instance" yaml:"max_concurrent_requests_per_instance"`
	MaxQueueWaitMS                   int `json:"max_queue_wait_ms" yaml:"max_queue_wait_ms"`
}

// Request setting defaults, as Azure ML's.
const (
	DefaultRequestTimeoutMS = 5000
	DefaultMaxConcurrent    = 1
	DefaultMaxQueueWaitMS   = 500
)

// QueueWaitHeader carries what is left of a scoring request's max_queue_wait_ms, in
// milliseconds, from the router to the scoring host: both queue requests, and the two waits
// together stay within the setting.
const QueueWaitHeader = "X-Berth-Queue-Wait-Ms"

// Probe configures a liveness or readiness probe; durations in seconds.
type Probe struct {
	InitialDelay     int `json:"initial_delay" yaml:"initial_delay"`
	Period           int `json:"period" yaml:"period"`
	Timeout          int `json:"timeout" yaml:"timeout"`
	SuccessThreshold int `json:"success_threshold" yaml:"success_threshold"`
	FailureThreshold int `json:"failure_threshold" yaml:"failure_threshold"`
}

// ResourceList is cpu, memory and nvidia.com/gpu quantities as Kubernetes writes them.
type ResourceList map[string]string

// DeploymentResources are a deployment's requests and limits, kept for clusters.
type DeploymentResources struct {
	Requests ResourceList `json:"requests,omitempty" yaml:"requests,omitempty"`
	Limits   ResourceList `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// ScaleSettings of a deployment, kept for clusters.
type ScaleSettings struct {
	Type                        string `json:"type" yaml:"type"`
	MinInstances                int    `json:"min_instances,omitempty" yaml:"min_instances,omitempty"`
	MaxInstances                int    `json:"max_instances,omitempty" yaml:"max_instances,omitempty"`
	PollingInterval             int    `json:"polling_interval,omitempty" yaml:"polling_interval,omitempty"`
	TargetUtilizationPercentage int    `json:"target_utilization_percentage,omitempty" yaml:"target_utilization_percentage,omitempty"`
}

// OnlineDeploymentSpec is what a kubernetesOnlineDeployment file says.
type OnlineDeploymentSpec struct {
	Name                 string               `json:"name" yaml:"name"`
	EndpointName         string               `json:"endpoint_name" yaml:"endpoint_name"`
	Description          string               `json:"description,omitempty" yaml:"description,omitempty"`
	Tags                 map[string]string    `json:"tags,omitempty" yaml:"tags,omitempty"`
	Model                *DeploymentModel     `json:"model,omitempty" yaml:"model,omitempty"`
	CodeConfiguration    *CodeConfiguration   `json:"code_configuration,omitempty" yaml:"code_configuration,omitempty"`
	Environment          *Environment         `json:"environment,omitempty" yaml:"environment,omitempty"`
	EnvironmentVariables map[string]string    `json:"environment_variables,omitempty" yaml:"environment_variables,omitempty"`
	InstanceCount        int                  `json:"instance_count" yaml:"instance_count"`
	InstanceType         string               `json:"instance_type,omitempty" yaml:"instance_type,omitempty"`
	RequestSettings      RequestSettings      `json:"request_settings" yaml:"request_settings"`
	LivenessProbe        *Probe               `json:"liveness_probe,omitempty" yaml:"liveness_probe,omitempty"`
	ReadinessProbe       *Probe               `json:"readiness_probe,omitempty" yaml:"readiness_probe,omitempty"`
	Resources            *DeploymentResources `json:"resources,omitempty" yaml:"resources,omitempty"`
	ScaleSettings        *ScaleSettings       `json:"scale_settings,omitempty" yaml:"scale_settings,omitempty"`
}

// OnlineDeployment is a deployment of an endpoint.
type OnlineDeployment struct {
	OnlineDeploymentSpec
	// Generation counts the deployment's creates and updates; each has its own uploads and
	// instances, and the previous generation serves until the next one is ready.
	Generation        int             `json:"generation"`
	ProvisioningState string          `json:"provisioning_state"`
	Error             *JobError       `json:"error,omitempty"`
	CreationContext   CreationContext `json:"creation_context"`
	// Instances are the scoring processes or pods serving the deployment.
	Instances []Instance `json:"instances,omitempty"`
}

// Instance is one scoring host of a deployment.
type Instance struct {
	Name  string    `json:"name"`
	URL   string    `json:"url"`
	Ready bool      `json:"ready"`
	Since time.Time `json:"since"`
}

// EndpointKeys are the credentials of an endpoint in key mode.
type EndpointKeys struct {
	PrimaryKey   string `json:"primaryKey"`
	SecondaryKey string `json:"secondaryKey"`
}

// EndpointToken is a credential of an endpoint in aml_token mode.
type EndpointToken struct {
	AccessToken string    `json:"accessToken"`
	TokenType   string    `json:"tokenType"`
	ExpiryOn    time.Time `json:"expiryTimeUtc"`
}
