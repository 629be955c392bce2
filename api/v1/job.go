// Package v1 holds the types of berth's HTTP JSON API, shared by the server, the CLI and the
// runtime. Field names follow what `az ml` prints: snake_case for ml resources.
package v1

import "time"

// JobStatus is the lifecycle state of a job, with the names Azure ML uses.
type JobStatus string

const (
	JobNotStarted      JobStatus = "NotStarted"
	JobQueued          JobStatus = "Queued"
	JobStarting        JobStatus = "Starting"
	JobPreparing       JobStatus = "Preparing"
	JobRunning         JobStatus = "Running"
	JobFinalizing      JobStatus = "Finalizing"
	JobCancelRequested JobStatus = "CancelRequested"
	JobCompleted       JobStatus = "Completed"
	JobFailed          JobStatus = "Failed"
	JobCanceled        JobStatus = "Canceled"
)

// Terminal reports whether a job in this state will never change again.
func (s JobStatus) Terminal() bool {
	return s == JobCompleted || s == JobFailed || s == JobCanceled
}

// JobSpec is what a job YAML file says, after parsing and validation. It is what the user asked
// for; Job adds what the workspace did with it.
type JobSpec struct {
	Type                 string               `json:"type" yaml:"type"`
	Name                 string               `json:"name" yaml:"name"`
	DisplayName          string               `json:"display_name,omitempty" yaml:"display_name,omitempty"`
	ExperimentName       string               `json:"experiment_name" yaml:"experiment_name"`
	Description          string               `json:"description,omitempty" yaml:"description,omitempty"`
	Tags                 map[string]string    `json:"tags,omitempty" yaml:"tags,omitempty"`
	Command              string               `json:"command" yaml:"command"`
	Code                 string               `json:"code,omitempty" yaml:"code,omitempty"`
	Environment          *Environment         `json:"environment,omitempty" yaml:"environment,omitempty"`
	EnvironmentVariables map[string]string    `json:"environment_variables,omitempty" yaml:"environment_variables,omitempty"`
	Compute              string               `json:"compute" yaml:"compute"`
	Inputs               map[string]JobInput  `json:"inputs,omitempty" yaml:"inputs,omitempty"`
	Outputs              map[string]JobOutput `json:"outputs,omitempty" yaml:"outputs,omitempty"`
	Distribution         *Distribution        `json:"distribution,omitempty" yaml:"distribution,omitempty"`
	Resources            Resources            `json:"resources" yaml:"resources"`
	Limits               *Limits              `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// Environment is either a reference to a registered environment (Ref) or an inline definition.
type Environment struct {
	Ref         string `json:"ref,omitempty" yaml:"ref,omitempty"`
	Name        string `json:"name,omitempty" yaml:"name,omitempty"`
	Version     string `json:"version,omitempty" yaml:"version,omitempty"`
	Image       string `json:"image,omitempty" yaml:"image,omitempty"`
	CondaFile   string `json:"conda_file,omitempty" yaml:"conda_file,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Input types. The first four are literals; the uri types name a file or folder.
const (
	InputString    = "string"
	InputInteger   = "integer"
	InputNumber    = "number"
	InputBoolean   = "boolean"
	InputURIFile   = "uri_file"
	InputURIFolder = "uri_folder"
)

// JobInput is one entry of a job's inputs: a literal value, or a file or folder path.
type JobInput struct {
	Type        string `json:"type" yaml:"type"`
	Value       string `json:"value,omitempty" yaml:"value,omitempty"`
	Path        string `json:"path,omitempty" yaml:"path,omitempty"`
	Mode        string `json:"mode,omitempty" yaml:"mode,omitempty"`
	Optional    bool   `json:"optional,omitempty" yaml:"optional,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// IsLiteral reports whether the input carries a value rather than a path.
func (in JobInput) IsLiteral() bool {
	return in.Type != InputURIFile && in.Type != InputURIFolder
}

// Present reports whether the input has a value or path, so that its expressions can be
// substituted. An optional input without one drops the $[[ ]] section that uses it.
func (in JobInput) Present() bool {
	if in.IsLiteral() {
		return in.Value != "" || !in.Optional
	}
	return in.Path != ""
}

// JobOutput is one entry of a job's outputs.
type JobOutput struct {
	Type        string `json:"type" yaml:"type"`
	Mode        string `json:"mode,omitempty" yaml:"mode,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Distribution says how many processes a job runs per instance and how they find each other.
type Distribution struct {
	Type                    string `json:"type" yaml:"type"`
	ProcessCountPerInstance int    `json:"process_count_per_instance,omitempty" yaml:"process_count_per_instance,omitempty"`
	WorkerCount             int    `json:"worker_count,omitempty" yaml:"worker_count,omitempty"`
	ParameterServerCount    int    `json:"parameter_server_count,omitempty" yaml:"parameter_server_count,omitempty"`
}

// Distribution types.
const (
	DistributionPyTorch    = "pytorch"
	DistributionMPI        = "mpi"
	DistributionTensorFlow = "tensorflow"
)

// Processes is the number of processes one instance runs.
func (d *Distribution) Processes() int {
	switch {
	case d == nil:
		return 1
	case d.Type == DistributionTensorFlow:
		return max(d.WorkerCount, 1) + d.ParameterServerCount
	default:
		return max(d.ProcessCountPerInstance, 1)
	}
}

// Resources is what a job asks of its compute.
type Resources struct {
	InstanceCount int    `json:"instance_count" yaml:"instance_count"`
	InstanceType  string `json:"instance_type,omitempty" yaml:"instance_type,omitempty"`
	ShmSize       string `json:"shm_size,omitempty" yaml:"shm_size,omitempty"`
}

// Limits bounds a job's run.
type Limits struct {
	// Timeout is the longest the job may run, in seconds.
	Timeout int `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// Job is a submitted job: its spec and what happened to it.
type Job struct {
	JobSpec
	Status          JobStatus       `json:"status"`
	CreationContext CreationContext `json:"creation_context"`
	StartTime       *time.Time      `json:"start_time,omitempty"`
	EndTime         *time.Time      `json:"end_time,omitempty"`
	ExitCode        *int            `json:"exit_code,omitempty"`
	Error           *JobError       `json:"error,omitempty"`
	Notices         []string        `json:"notices,omitempty"`
}

// CreationContext records when a resource was created, as az ml prints it.
type CreationContext struct {
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// JobError says why a job failed or was canceled.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Job error codes.
const (
	ErrCodeNonZeroExit   = "UserError.NonZeroExit"
	ErrCodeTimeout       = "UserError.Timeout"
	ErrCodeCanceled      = "Canceled"
	ErrCodeServerRestart = "SystemError.ServerRestarted"
	ErrCodePrepare       = "UserError.PrepareFailed"
	ErrCodeSystem        = "SystemError"
)

// List is one page of a listing. NextLink, when set, is the path of the next page.
type List[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"next_link,omitempty"`
}

// SpecRequest creates or updates a resource from its YAML file: the body of POST and PUT
// requests for endpoints, and the first part ("spec") of the multipart bodies that create
// jobs, models and deployments, whose following parts carry the local folders and files the
// YAML names, each as a tar stream named by its part ("code", "model", "inputs.<name>").
type SpecRequest struct {
	// YAML is the file as the user wrote it.
	YAML string `json:"yaml"`
	// Name, when set, overrides the file's name (the CLI's --name).
	Name string `json:"name,omitempty"`
	// Set holds path=value overrides (the CLI's --set), applied before validation.
	Set []string `json:"set,omitempty"`
}

// Error is the body of every API error response.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the client-visible part of an error.
type ErrorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// Version is the body of GET /api/v1/version.
type Version struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
}

// Compute is a compute target of the workspace.
type Compute struct {
	Name              string            `json:"name"`
	Type              string            `json:"type"`
	ProvisioningState string            `json:"provisioning_state"`
	Description       string            `json:"description,omitempty"`
	Properties        map[string]string `json:"properties,omitempty"`
}

// Workspace is the body of GET /api/v1/workspace.
type Workspace struct {
	Name string `json:"name"`
}
