package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	v1 "berth/api/v1"
)

// CreateCluster implements Store.
func (s *SQLite) CreateCluster(ctx context.Context, c *v1.Cluster, tokenHash string) error {
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO clusters (name, token_hash, body) VALUES (?, ?, ?)`, c.Name, tokenHash, string(body))
	if isUnique(err) {
		return ErrExists
	}
	return err
}

// GetCluster implements Store.
func (s *SQLite) GetCluster(ctx context.Context, name string) (*v1.Cluster, error) {
	return getBody[v1.Cluster](ctx, s.db, `SELECT body FROM clusters WHERE name = ?`, name)
}

// ClusterTokenHash implements Store.
func (s *SQLite) ClusterTokenHash(ctx context.Context, name string) (string, error) {
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT token_hash FROM clusters WHERE name = ?`, name).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return hash, err
}

// ListClusters implements Store.
func (s *SQLite) ListClusters(ctx context.Context, page Page) ([]v1.Cluster, string, error) {
	return listBodies[v1.Cluster](ctx, s.db, "clusters", "", nil, page)
}

// UpdateCluster implements Store.
func (s *SQLite) UpdateCluster(ctx context.Context, name string, change func(*v1.Cluster) error) (*v1.Cluster, error) {
	var c *v1.Cluster
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if c, err = getBody[v1.Cluster](ctx, tx, `SELECT body FROM clusters WHERE name = ?`, name); err != nil {
			return err
		}
		if err := change(c); err != nil {
			return err
		}
		body, err := json.Marshal(c)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE clusters SET body = ? WHERE name = ?`, string(body), name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteCluster implements Store.
func (s *SQLite) DeleteCluster(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM clusters WHERE name = ?`, name)
	return checkDeleted(res, err)
}

// CreateExtension implements Store.
func (s *SQLite) CreateExtension(ctx context.Context, e *v1.Extension, sealedProtected string) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clusters WHERE name = ?`, e.ClusterName).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO extensions (cluster, name, protected, body) VALUES (?, ?, ?, ?)`,
			e.ClusterName, e.Name, sealedProtected, string(body))
		if isUnique(err) {
			return ErrExists
		}
		return err
	})
}

// GetExtension implements Store.
func (s *SQLite) GetExtension(ctx context.Context, cluster, name string) (*v1.Extension, string, error) {
	return getExtension(ctx, s.db, cluster, name)
}

func getExtension(ctx context.Context, q queryer, cluster, name string) (*v1.Extension, string, error) {
	var body, protected string
	err := q.QueryRowContext(ctx, `SELECT body, protected FROM extensions WHERE cluster = ? AND name = ?`, cluster, name).Scan(&body, &protected)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	var e v1.Extension
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return nil, "", err
	}
	return &e, protected, nil
}

// UpdateExtension implements Store.
func (s *SQLite) UpdateExtension(ctx context.Context, cluster, name string, change func(*v1.Extension, *string) error) (*v1.Extension, error) {
	var e *v1.Extension
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var protected string
		var err error
		if e, protected, err = getExtension(ctx, tx, cluster, name); err != nil {
			return err
		}
		if err := change(e, &protected); err != nil {
			return err
		}
		body, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE extensions SET body = ?, protected = ? WHERE cluster = ? AND name = ?`,
			string(body), protected, cluster, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ListExtensions implements Store.
func (s *SQLite) ListExtensions(ctx context.Context, cluster string) ([]v1.Extension, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT body FROM extensions WHERE cluster = ? ORDER BY seq`, cluster)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []v1.Extension{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var e v1.Extension
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	return list, rows.Err()
}

// DeleteExtension implements Store.
func (s *SQLite) DeleteExtension(ctx context.Context, cluster, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM extensions WHERE cluster = ? AND name = ?`, cluster, name)
	return checkDeleted(res, err)
}
