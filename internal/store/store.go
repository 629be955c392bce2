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
	// Close releases the store.
	Close() error
}
