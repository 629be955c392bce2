package v1

import "time"

// Cluster types, as az k8s-extension names them.
const (
	ClusterTypeConnected = "connectedClusters"
	ClusterTypeManaged   = "managedClusters"
)

// Cluster connection states.
const (
	ClusterConnecting = "Connecting"
	ClusterConnected  = "Connected"
	ClusterOffline    = "Offline"
)

// Cluster is a Kubernetes cluster connected to the workspace. Its JSON is camelCase, as
// az connectedk8s and az k8s-extension print theirs.
type Cluster struct {
	Name          string `json:"name"`
	ClusterType   string `json:"clusterType"`
	ResourceGroup string `json:"resourceGroup,omitempty"`
	// ConnectivityStatus is Connecting until the agent's first report, then Connected, and
	// Offline when no report came for three report intervals.
	ConnectivityStatus string     `json:"connectivityStatus"`
	LastHeartbeat      *time.Time `json:"lastConnectivityTime,omitempty"`
	KubernetesVersion  string     `json:"kubernetesVersion,omitempty"`
	Distribution       string     `json:"distribution,omitempty"`
	AgentVersion       string     `json:"agentVersion,omitempty"`
	TotalNodeCount     int        `json:"totalNodeCount"`
	Inventory          *Inventory `json:"inventory,omitempty"`
	CreatedAt          time.Time  `json:"createdAt"`
}

// ClusterRequest is the body of POST /api/v1/clusters.
type ClusterRequest struct {
	Name          string `json:"name"`
	ClusterType   string `json:"clusterType"`
	ResourceGroup string `json:"resourceGroup,omitempty"`
}

// ClusterCreated answers POST /api/v1/clusters: the cluster and its agent token, which is
// shown this once and stored only as a hash.
type ClusterCreated struct {
	Cluster
	AgentToken string `json:"agentToken"`
	// ServerURL is the address agents dial (the server's advertised URL), and ServerCA the
	// PEM certificate they pin when the server's certificate is self-signed.
	ServerURL string `json:"serverUrl"`
	ServerCA  string `json:"serverCa,omitempty"`
}

// Inventory is what the agent reports about its cluster; the server checks the cluster-state
// rules of the extension's settings against the last one.
type Inventory struct {
	KubernetesVersion string `json:"kubernetesVersion"`
	// OpenShift is true when the cluster serves the security.openshift.io API group.
	OpenShift  bool            `json:"openShift"`
	Nodes      []Node          `json:"nodes"`
	DaemonSets []DaemonSetInfo `json:"daemonSets,omitempty"`
	// TLSSecrets names the Secrets in the extension's namespace that hold cert.pem and
	// key.pem, which sslSecret may name.
	TLSSecrets []string `json:"tlsSecrets,omitempty"`
}

// Node is one node of the inventory.
type Node struct {
	Name   string            `json:"name"`
	Ready  bool              `json:"ready"`
	Labels map[string]string `json:"labels,omitempty"`
	Taints []Taint           `json:"taints,omitempty"`
	// Allocatable CPU and memory as Kubernetes quantities ("2", "8Gi"); GPU counts
	// nvidia.com/gpu.
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
	GPU    int64  `json:"gpu"`
	// ProviderID says which cloud runs the node (azure://, aws://, gce://), which picks an
	// internal load balancer's annotation.
	ProviderID string `json:"providerId,omitempty"`
}

// Taint is a node taint.
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// DaemonSetInfo is a DaemonSet the settings care about, found anywhere in the cluster.
type DaemonSetInfo struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Kind says what it is: "nvidia-device-plugin".
	Kind  string `json:"kind"`
	Ready int32  `json:"ready"`
}

// Extension types.
const (
	ExtensionType      = "berth.ml"
	ExtensionTypeAzure = "Microsoft.AzureML.Kubernetes"
)

// Install states of an extension.
const (
	InstallPending   = "Pending"
	InstallInstalled = "Installed"
	InstallFailed    = "Failed"
	InstallDeleting  = "Deleting"
)

// Extension is the ML extension on a cluster, printed as az k8s-extension prints it.
type Extension struct {
	Name          string `json:"name"`
	ExtensionType string `json:"extensionType"`
	ClusterName   string `json:"clusterName"`
	ClusterType   string `json:"clusterType"`
	ResourceGroup string `json:"resourceGroup,omitempty"`
	Scope         string `json:"scope"`
	// ReleaseNamespace is where the extension's Helm release and components live.
	ReleaseNamespace string `json:"releaseNamespace"`
	InstallState     string `json:"installState"`
	// ConfigurationSettings are the plain settings as given; ProtectedSettings only names the
	// protected keys: their values are never returned.
	ConfigurationSettings map[string]string `json:"configurationSettings"`
	ProtectedSettings     []string          `json:"configurationProtectedSettings"`
	// Statuses holds one entry per failed check and the notices of the install (a fallback
	// to one router replica, a device plugin found already running).
	Statuses   []ExtensionStatus `json:"statuses"`
	Components []Component       `json:"components"`
	// Generation counts accepted changes of the settings; the agent reports which one it
	// applied.
	Generation        int64     `json:"generation"`
	AppliedGeneration int64     `json:"appliedGeneration"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
}

// ExtensionStatus is a check's outcome or a notice. Code is CamelCase; Level is Error,
// Warning or Information.
type ExtensionStatus struct {
	Code    string `json:"code"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

// Component is one part of the extension's release and whether it runs.
type Component struct {
	// Kind and Name name the Kubernetes object (Deployment, DaemonSet, Service, Secret...).
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Ready   bool   `json:"ready"`
	Message string `json:"message,omitempty"`
}

// ExtensionRequest is the body of PUT /api/v1/clusters/{cluster}/extensions/{name} (create)
// and PATCH (update). Protected values arrive in clear over the API and are stored sealed.
type ExtensionRequest struct {
	ExtensionType         string            `json:"extensionType"`
	Scope                 string            `json:"scope"`
	ReleaseNamespace      string            `json:"releaseNamespace,omitempty"`
	ConfigurationSettings map[string]string `json:"configurationSettings"`
	ProtectedSettings     map[string]string `json:"configurationProtectedSettings"`
}

// AgentReport is what the agent sends on each heartbeat (POST /api/v1/agent/report, with
// its cluster token).
type AgentReport struct {
	AgentVersion string            `json:"agentVersion"`
	Inventory    Inventory         `json:"inventory"`
	Extensions   []ExtensionReport `json:"extensions"`
}

// ExtensionReport is the agent's view of one extension.
type ExtensionReport struct {
	Name string `json:"name"`
	// Generation is the settings generation the agent last applied.
	Generation   int64             `json:"generation"`
	InstallState string            `json:"installState"`
	Statuses     []ExtensionStatus `json:"statuses"`
	Components   []Component       `json:"components"`
	// Removed says the release is uninstalled after a delete; the server then forgets it.
	Removed bool `json:"removed,omitempty"`
}

// AgentDesired answers a report: what the cluster should run.
type AgentDesired struct {
	Extensions []DesiredExtension `json:"extensions"`
	// ReportIntervalSeconds is how often the server expects a report; three missed make the
	// cluster Offline.
	ReportIntervalSeconds float64 `json:"reportIntervalSeconds"`
}

// DesiredExtension is an extension as the agent installs it: settings with protected values
// in clear (the agent's channel is the only place they leave the server).
type DesiredExtension struct {
	Name                  string            `json:"name"`
	ReleaseNamespace      string            `json:"releaseNamespace"`
	Generation            int64             `json:"generation"`
	Delete                bool              `json:"delete,omitempty"`
	ConfigurationSettings map[string]string `json:"configurationSettings"`
	ProtectedSettings     map[string]string `json:"configurationProtectedSettings"`
}
