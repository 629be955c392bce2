package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	v1 "berth/api/v1"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// SQLite is the embedded store: one database file in the data folder, in WAL mode.
type SQLite struct {
	db *sql.DB
}

// OpenSQLite opens (creating if needed) the database at path and applies pending migrations.
//
// synchronous=NORMAL in WAL mode keeps every committed transaction across a crash of the
// process (the case berth must survive: SIGKILL, OOM); only a power loss may drop the last
// commits. _txlock=immediate takes the write lock at BEGIN, so read-modify-write transactions
// never fail halfway on a lock upgrade.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	// Only the server's user reads the store; SQLite gives its WAL files the same mode.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating database %s: %w", path, err)
	}
	return s, nil
}

// migrations are applied in order, each once, each in its own transaction. Append only.
var migrations = []string{
	`CREATE TABLE jobs (
		seq        INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT NOT NULL UNIQUE,
		status     TEXT NOT NULL,
		body       TEXT NOT NULL
	);
	CREATE INDEX jobs_status ON jobs (status, seq);`,
	`CREATE TABLE models (
		seq     INTEGER PRIMARY KEY AUTOINCREMENT,
		name    TEXT NOT NULL,
		version TEXT NOT NULL,
		body    TEXT NOT NULL,
		UNIQUE (name, version)
	);
	CREATE TABLE endpoints (
		seq   INTEGER PRIMARY KEY AUTOINCREMENT,
		name  TEXT NOT NULL UNIQUE,
		keys  TEXT NOT NULL,
		body  TEXT NOT NULL
	);
	CREATE TABLE deployments (
		seq      INTEGER PRIMARY KEY AUTOINCREMENT,
		endpoint TEXT NOT NULL REFERENCES endpoints (name) ON DELETE CASCADE,
		name     TEXT NOT NULL,
		body     TEXT NOT NULL,
		UNIQUE (endpoint, name)
	);`,
	`CREATE TABLE clusters (
		seq        INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT NOT NULL UNIQUE,
		token_hash TEXT NOT NULL,
		body       TEXT NOT NULL
	);
	CREATE TABLE extensions (
		seq       INTEGER PRIMARY KEY AUTOINCREMENT,
		cluster   TEXT NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
		name      TEXT NOT NULL,
		protected TEXT NOT NULL,
		body      TEXT NOT NULL,
		UNIQUE (cluster, name)
	);`,
}

func (s *SQLite) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	for i, m := range migrations {
		version := i + 1
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx,
				`SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m); err != nil {
				return fmt.Errorf("migration %d: %w", version, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?)`,
				version, time.Now().UTC().Format(time.RFC3339Nano))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *SQLite) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// CreateJob implements Store.
func (s *SQLite) CreateJob(ctx context.Context, job *v1.Job) error {
	body, err := json.Marshal(job)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO jobs (name, status, body) VALUES (?, ?, ?)`,
		job.Name, string(job.Status), string(body))
	if isUnique(err) {
		return ErrExists
	}
	return err
}

// GetJob implements Store.
func (s *SQLite) GetJob(ctx context.Context, name string) (*v1.Job, error) {
	return getJob(ctx, s.db, name)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getJob(ctx context.Context, q queryer, name string) (*v1.Job, error) {
	return getBody[v1.Job](ctx, q, `SELECT body FROM jobs WHERE name = ?`, name)
}

// ListJobs implements Store.
func (s *SQLite) ListJobs(ctx context.Context, page Page) ([]v1.Job, string, error) {
	return listBodies[v1.Job](ctx, s.db, "jobs", "", nil, page)
}

// ErrBadToken is returned for a page token this store did not issue.
var ErrBadToken = errors.New("bad page token")

// UpdateJob implements Store.
func (s *SQLite) UpdateJob(ctx context.Context, name string, change func(*v1.Job) error) (*v1.Job, error) {
	var job *v1.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if job, err = getJob(ctx, tx, name); err != nil {
			return err
		}
		if err := change(job); err != nil {
			return err
		}
		body, err := json.Marshal(job)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, body = ? WHERE name = ?`,
			string(job.Status), string(body), name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}

// UnfinishedJobs implements Store.
func (s *SQLite) UnfinishedJobs(ctx context.Context) ([]v1.Job, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT body FROM jobs
		WHERE status NOT IN (?, ?, ?) ORDER BY seq`,
		string(v1.JobCompleted), string(v1.JobFailed), string(v1.JobCanceled))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []v1.Job
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var job v1.Job
		if err := json.Unmarshal([]byte(body), &job); err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
	}
	return jobs, rows.Err()
}
