package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	v1 "berth/api/v1"
)

// isUnique reports whether err is a violated uniqueness constraint.
func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// getBody decodes the body column of the one row a query selects.
func getBody[T any](ctx context.Context, q queryer, query string, args ...any) (*T, error) {
	var body string
	err := q.QueryRowContext(ctx, query, args...).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return nil, fmt.Errorf("decoding stored row: %w", err)
	}
	return &v, nil
}

// listBodies returns one page of a table's rows, newest first. where filters the rows ("" for
// all); the page token is the sequence number of the last row returned.
func listBodies[T any](ctx context.Context, db *sql.DB, table, where string, args []any, page Page) ([]T, string, error) {
	limit := page.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	before := int64(1<<63 - 1)
	if page.Token != "" {
		n, err := strconv.ParseInt(page.Token, 10, 64)
		if err != nil || n < 0 {
			return nil, "", ErrBadToken
		}
		before = n
	}
	cond := "seq < ?"
	if where != "" {
		cond += " AND " + where
	}
	rows, err := db.QueryContext(ctx, "SELECT seq, body FROM "+table+" WHERE "+cond+" ORDER BY seq DESC LIMIT ?",
		append(append([]any{before}, args...), limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	items := []T{}
	var seq int64
	for rows.Next() {
		if len(items) == limit {
			return items, strconv.FormatInt(seq, 10), nil
		}
		var body string
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, "", err
		}
		var v T
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			return nil, "", err
		}
		items = append(items, v)
	}
	return items, "", rows.Err()
}

// CreateModel implements Store.
func (s *SQLite) CreateModel(ctx context.Context, m *v1.Model) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO models (name, version, body) VALUES (?, ?, ?)`, m.Name, m.Version, string(body))
	if isUnique(err) {
		return ErrExists
	}
	return err
}

// GetModel implements Store.
func (s *SQLite) GetModel(ctx context.Context, name, version string) (*v1.Model, error) {
	return getBody[v1.Model](ctx, s.db, `SELECT body FROM models WHERE name = ? AND version = ?`, name, version)
}

// LatestModel implements Store.
func (s *SQLite) LatestModel(ctx context.Context, name string) (*v1.Model, error) {
	return getBody[v1.Model](ctx, s.db, `SELECT body FROM models WHERE name = ? ORDER BY seq DESC LIMIT 1`, name)
}

// ListModels implements Store.
func (s *SQLite) ListModels(ctx context.Context, name string, page Page) ([]v1.Model, string, error) {
	if name == "" {
		return listBodies[v1.Model](ctx, s.db, "models", "", nil, page)
	}
	return listBodies[v1.Model](ctx, s.db, "models", "name = ?", []any{name}, page)
}

// CreateEndpoint implements Store.
func (s *SQLite) CreateEndpoint(ctx context.Context, e *v1.OnlineEndpoint, sealedKeys string) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO endpoints (name, keys, body) VALUES (?, ?, ?)`, e.Name, sealedKeys, string(body))
	if isUnique(err) {
		return ErrExists
	}
	return err
}

// GetEndpoint implements Store.
func (s *SQLite) GetEndpoint(ctx context.Context, name string) (*v1.OnlineEndpoint, error) {
	return getBody[v1.OnlineEndpoint](ctx, s.db, `SELECT body FROM endpoints WHERE name = ?`, name)
}

// EndpointKeys implements Store.
func (s *SQLite) EndpointKeys(ctx context.Context, name string) (string, error) {
	var keys string
	err := s.db.QueryRowContext(ctx, `SELECT keys FROM endpoints WHERE name = ?`, name).Scan(&keys)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return keys, err
}

// SetEndpointKeys implements Store.
func (s *SQLite) SetEndpointKeys(ctx context.Context, name, sealedKeys string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE endpoints SET keys = ? WHERE name = ?`, sealedKeys, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// UpdateEndpoint implements Store.
func (s *SQLite) UpdateEndpoint(ctx context.Context, name string, change func(*v1.OnlineEndpoint, []v1.OnlineDeployment) error) (*v1.OnlineEndpoint, error) {
	var e *v1.OnlineEndpoint
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if e, err = getBody[v1.OnlineEndpoint](ctx, tx, `SELECT body FROM endpoints WHERE name = ?`, name); err != nil {
			return err
		}
		deps, err := listDeployments(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := change(e, deps); err != nil {
			return err
		}
		body, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE endpoints SET body = ? WHERE name = ?`, string(body), name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ListEndpoints implements Store.
func (s *SQLite) ListEndpoints(ctx context.Context, page Page) ([]v1.OnlineEndpoint, string, error) {
	return listBodies[v1.OnlineEndpoint](ctx, s.db, "endpoints", "", nil, page)
}

// DeleteEndpoint implements Store.
func (s *SQLite) DeleteEndpoint(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM deployments WHERE endpoint = ?`, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM endpoints WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// CreateDeployment implements Store.
func (s *SQLite) CreateDeployment(ctx context.Context, d *v1.OnlineDeployment) error {
	body, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM endpoints WHERE name = ?`, d.EndpointName).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO deployments (endpoint, name, body) VALUES (?, ?, ?)`,
			d.EndpointName, d.Name, string(body))
		if isUnique(err) {
			return ErrExists
		}
		return err
	})
}

// GetDeployment implements Store.
func (s *SQLite) GetDeployment(ctx context.Context, endpoint, name string) (*v1.OnlineDeployment, error) {
	return getBody[v1.OnlineDeployment](ctx, s.db, `SELECT body FROM deployments WHERE endpoint = ? AND name = ?`, endpoint, name)
}

// UpdateDeployment implements Store.
func (s *SQLite) UpdateDeployment(ctx context.Context, endpoint, name string, change func(*v1.OnlineDeployment) error) (*v1.OnlineDeployment, error) {
	var d *v1.OnlineDeployment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if d, err = getBody[v1.OnlineDeployment](ctx, tx, `SELECT body FROM deployments WHERE endpoint = ? AND name = ?`, endpoint, name); err != nil {
			return err
		}
		if err := change(d); err != nil {
			return err
		}
		body, err := json.Marshal(d)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE deployments SET body = ? WHERE endpoint = ? AND name = ?`, string(body), endpoint, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ListDeployments implements Store.
func (s *SQLite) ListDeployments(ctx context.Context, endpoint string) ([]v1.OnlineDeployment, error) {
	return listDeployments(ctx, s.db, endpoint)
}

type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func listDeployments(ctx context.Context, q rowsQueryer, endpoint string) ([]v1.OnlineDeployment, error) {
	query, args := `SELECT body FROM deployments ORDER BY seq`, []any{}
	if endpoint != "" {
		query, args = `SELECT body FROM deployments WHERE endpoint = ? ORDER BY seq`, []any{endpoint}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	deps := []v1.OnlineDeployment{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var d v1.OnlineDeployment
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			return nil, err
		}
		deps = append(deps, d)
	}
	return deps, rows.Err()
}

// DeleteDeployment implements Store.
func (s *SQLite) DeleteDeployment(ctx context.Context, endpoint, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM deployments WHERE endpoint = ? AND name = ?`, endpoint, name)
	return checkDeleted(res, err)
}

// checkDeleted turns a DELETE that removed no row into ErrNotFound.
func checkDeleted(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
