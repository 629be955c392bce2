// Package store keeps the workspace's resources. Store is the interface the server uses; the
// SQLite implementation is the embedded default, and nothing outside this package assumes
// SQLite, so a PostgreSQL implementation can stand beside it.
package store

import (
	"context"
	"errors"

	v1 "berth/api/v1"
)

// ErrNotFound is returned when the named resource does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when creating a resource whose name is taken.
var ErrExists = errors.New("already exists")

// Page asks for one page of a listing, newest first.
type Page struct {
	// Limit is the most items to return; 0 means DefaultLimit.
	Limit int
	// Token is the NextToken of the previous page, or empty for the first page.
	Token string
}

// DefaultLimit is the page size when none is asked for.
const DefaultLimit = 50

// MaxLimit is the largest page size served.
const MaxLimit = 1000

// Store is the workspace's persistent state. Every method is one transaction.
type Store interface {
	// CreateJob stores a new job; ErrExists if its name is taken.
	CreateJob(ctx context.Context, job *v1.Job) error
	// GetJob returns the named job, or ErrNotFound.
	GetJob(ctx context.Context, name string) (*v1.Job, error)
	// ListJobs returns one page of jobs, newest first, and the token of the next page ("" at
	// the end).
	ListJobs(ctx context.Context, page Page) (jobs []v1.Job, next string, err error)
	// UpdateJob reads the named job, applies change and writes the result in one transaction.
	// When change returns an error nothing is written and the error is returned as it is.
	UpdateJob(ctx context.Context, name string, change func(*v1.Job) error) (*v1.Job, error)
	// UnfinishedJobs returns the jobs not in a terminal state, oldest first.
	UnfinishedJobs(ctx context.Context) ([]v1.Job, error)

	// CreateModel stores a model version; ErrExists if that version exists.
	CreateModel(ctx context.Context, m *v1.Model) error
	// GetModel returns one version of a model, or ErrNotFound.
	GetModel(ctx context.Context, name, version string) (*v1.Model, error)
	// LatestModel returns the most recently created version of a model, or ErrNotFound.
	LatestModel(ctx context.Context, name string) (*v1.Model, error)
	// ListModels returns one page of model versions, newest first; name "" lists every model.
	ListModels(ctx context.Context, name string, page Page) ([]v1.Model, string, error)

	// CreateEndpoint stores an endpoint and its sealed keys; ErrExists if the name is taken.
	CreateEndpoint(ctx context.Context, e *v1.OnlineEndpoint, sealedKeys string) error
	// GetEndpoint returns an endpoint, or ErrNotFound.
	GetEndpoint(ctx context.Context, name string) (*v1.OnlineEndpoint, error)
	// EndpointKeys returns an endpoint's sealed keys.
	EndpointKeys(ctx context.Context, name string) (string, error)
	// SetEndpointKeys replaces an endpoint's sealed keys.
	SetEndpointKeys(ctx context.Context, name, sealedKeys string) error
	// UpdateEndpoint changes an endpoint in one transaction; change sees the endpoint's
	// deployments, so that traffic can be checked against them.
	UpdateEndpoint(ctx context.Context, name string, change func(*v1.OnlineEndpoint, []v1.OnlineDeployment) error) (*v1.OnlineEndpoint, error)
	// ListEndpoints returns one page of endpoints, newest first.
	ListEndpoints(ctx context.Context, page Page) ([]v1.OnlineEndpoint, string, error)
	// DeleteEndpoint removes an endpoint and its deployments.
	DeleteEndpoint(ctx context.Context, name string) error

	// CreateDeployment stores a deployment of an existing endpoint; ErrExists if the name is
	// taken, ErrNotFound if the endpoint is missing.
	CreateDeployment(ctx context.Context, d *v1.OnlineDeployment) error
	// GetDeployment returns a deployment, or ErrNotFound.
	GetDeployment(ctx context.Context, endpoint, name string) (*v1.OnlineDeployment, error)
	// UpdateDeployment changes a deployment in one transaction.
	UpdateDeployment(ctx context.Context, endpoint, name string, change func(*v1.OnlineDeployment) error) (*v1.OnlineDeployment, error)
	// ListDeployments returns an endpoint's deployments, oldest first; endpoint "" lists all.
	ListDeployments(ctx context.Context, endpoint string) ([]v1.OnlineDeployment, error)
	// DeleteDeployment removes a deployment.
	DeleteDeployment(ctx context.Context, endpoint, name string) error

	// CreateCluster stores a connected cluster and the hash of its agent token; ErrExists if
	// the name is taken.
	CreateCluster(ctx context.Context, c *v1.Cluster, tokenHash string) error
	// GetCluster returns a cluster, or ErrNotFound.
	GetCluster(ctx context.Context, name string) (*v1.Cluster, error)
	// ClusterTokenHash returns the hash of a cluster's agent token, or ErrNotFound.
	ClusterTokenHash(ctx context.Context, name string) (string, error)
	// ListClusters returns one page of clusters, newest first.
	ListClusters(ctx context.Context, page Page) ([]v1.Cluster, string, error)
	// UpdateCluster changes a cluster in one transaction.
	UpdateCluster(ctx context.Context, name string, change func(*v1.Cluster) error) (*v1.Cluster, error)
	// DeleteCluster removes a cluster and its extensions.
	DeleteCluster(ctx context.Context, name string) error

	// CreateExtension stores an extension of an existing cluster with its sealed protected
	// settings; ErrExists if the name is taken, ErrNotFound if the cluster is missing.
	CreateExtension(ctx context.Context, e *v1.Extension, sealedProtected string) error
	// GetExtension returns an extension and its sealed protected settings, or ErrNotFound.
	GetExtension(ctx context.Context, cluster, name string) (*v1.Extension, string, error)
	// UpdateExtension changes an extension in one transaction. change may replace the
	// sealed protected settings it is given.
	UpdateExtension(ctx context.Context, cluster, name string, change func(e *v1.Extension, sealedProtected *string) error) (*v1.Extension, error)
	// ListExtensions returns a cluster's extensions, oldest first.
	ListExtensions(ctx context.Context, cluster string) ([]v1.Extension, error)
	// DeleteExtension removes an extension.
	DeleteExtension(ctx context.Context, cluster, name string) error

	// Close releases the store.
	Close() error
}
