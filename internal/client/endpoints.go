package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"

	v1 "berth/api/v1"
	"berth/internal/archive"
)

// postMultipart streams a spec and its uploads, as CreateJob does, and decodes the answer.
func (c *Client) postMultipart(ctx context.Context, method, path string, req v1.SpecRequest, uploads []Upload, progress func(int64), out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() { pw.CloseWithError(writeJobBody(mw, req, uploads, progress)) }()
	resp, err := c.request(ctx, method, path, pr, mw.FormDataContentType())
	pr.Close()
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *Client) sendJSON(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	resp, err := c.request(ctx, method, path, r, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// CreateModel registers a model version.
func (c *Client) CreateModel(ctx context.Context, req v1.SpecRequest, uploads []Upload, progress func(int64)) (*v1.Model, error) {
	var m v1.Model
	return &m, c.postMultipart(ctx, http.MethodPost, "/api/v1/models", req, uploads, progress, &m)
}

// GetModel returns a model version; version "" is the latest.
func (c *Client) GetModel(ctx context.Context, name, version string) (*v1.Model, error) {
	var m v1.Model
	return &m, c.getJSON(ctx, modelPath(name, version), &m)
}

func modelPath(name, version string) string {
	p := "/api/v1/models/" + url.PathEscape(name)
	if version != "" {
		p += "/versions/" + url.PathEscape(version)
	}
	return p
}

// ListModels lists model versions, newest first, up to max (0: all); name "" lists all models.
func (c *Client) ListModels(ctx context.Context, name string, max int) ([]v1.Model, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	if max > 0 {
		q.Set("limit", strconv.Itoa(min(max, 1000)))
	}
	return listAll[v1.Model](ctx, c, "/api/v1/models?"+q.Encode(), max)
}

// listAll follows next links until max items (0: all).
func listAll[T any](ctx context.Context, c *Client, path string, max int) ([]T, error) {
	items := []T{}
	for path != "" {
		var page v1.List[T]
		if err := c.getJSON(ctx, path, &page); err != nil {
			return nil, err
		}
		items = append(items, page.Value...)
		if max > 0 && len(items) >= max {
			return items[:max], nil
		}
		path = page.NextLink
	}
	return items, nil
}

// DownloadModel unpacks a model version into dir.
func (c *Client) DownloadModel(ctx context.Context, name, version, dir string) error {
	resp, err := c.request(ctx, http.MethodGet, modelPath(name, version)+"/download", nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return archive.ToDir(resp.Body, dir)
}

func endpointPath(name string) string { return "/api/v1/endpoints/" + url.PathEscape(name) }

// CreateEndpoint creates an online endpoint.
func (c *Client) CreateEndpoint(ctx context.Context, req v1.SpecRequest) (*v1.OnlineEndpoint, error) {
	var e v1.OnlineEndpoint
	return &e, c.sendJSON(ctx, http.MethodPost, "/api/v1/endpoints", req, &e)
}

// UpdateEndpoint replaces an endpoint's spec.
func (c *Client) UpdateEndpoint(ctx context.Context, name string, req v1.SpecRequest) (*v1.OnlineEndpoint, error) {
	var e v1.OnlineEndpoint
	return &e, c.sendJSON(ctx, http.MethodPut, endpointPath(name), req, &e)
}

// GetEndpoint returns an endpoint.
func (c *Client) GetEndpoint(ctx context.Context, name string) (*v1.OnlineEndpoint, error) {
	var e v1.OnlineEndpoint
	return &e, c.getJSON(ctx, endpointPath(name), &e)
}

// ListEndpoints lists every endpoint.
func (c *Client) ListEndpoints(ctx context.Context) ([]v1.OnlineEndpoint, error) {
	return listAll[v1.OnlineEndpoint](ctx, c, "/api/v1/endpoints", 0)
}

// DeleteEndpoint deletes an endpoint and its deployments.
func (c *Client) DeleteEndpoint(ctx context.Context, name string) error {
	return c.sendJSON(ctx, http.MethodDelete, endpointPath(name), nil, nil)
}

// Credentials returns an endpoint's keys (key mode) or a new token (aml_token mode), as JSON.
func (c *Client) Credentials(ctx context.Context, name string) (json.RawMessage, error) {
	var raw json.RawMessage
	return raw, c.getJSON(ctx, endpointPath(name)+"/credentials", &raw)
}

// RegenerateKey replaces the primary or secondary key.
func (c *Client) RegenerateKey(ctx context.Context, name, keyType string) error {
	return c.sendJSON(ctx, http.MethodPost, endpointPath(name)+"/regenerate-keys", map[string]string{"key_type": keyType}, nil)
}

func deploymentPath(endpoint, name string) string {
	p := endpointPath(endpoint) + "/deployments"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// CreateDeployment creates a deployment with its uploads.
func (c *Client) CreateDeployment(ctx context.Context, endpoint string, req v1.SpecRequest, uploads []Upload, progress func(int64)) (*v1.OnlineDeployment, error) {
	var d v1.OnlineDeployment
	return &d, c.postMultipart(ctx, http.MethodPost, deploymentPath(endpoint, ""), req, uploads, progress, &d)
}

// UpdateDeployment starts a new generation of a deployment.
func (c *Client) UpdateDeployment(ctx context.Context, endpoint, name string, req v1.SpecRequest, uploads []Upload, progress func(int64)) (*v1.OnlineDeployment, error) {
	var d v1.OnlineDeployment
	return &d, c.postMultipart(ctx, http.MethodPut, deploymentPath(endpoint, name), req, uploads, progress, &d)
}

// GetDeployment returns a deployment.
func (c *Client) GetDeployment(ctx context.Context, endpoint, name string) (*v1.OnlineDeployment, error) {
	var d v1.OnlineDeployment
	return &d, c.getJSON(ctx, deploymentPath(endpoint, name), &d)
}

// ListDeployments lists an endpoint's deployments.
func (c *Client) ListDeployments(ctx context.Context, endpoint string) ([]v1.OnlineDeployment, error) {
	return listAll[v1.OnlineDeployment](ctx, c, deploymentPath(endpoint, ""), 0)
}

// DeleteDeployment deletes a deployment.
func (c *Client) DeleteDeployment(ctx context.Context, endpoint, name string) error {
	return c.sendJSON(ctx, http.MethodDelete, deploymentPath(endpoint, name), nil, nil)
}

// DeploymentLogs returns the last lines of a deployment's instance logs.
func (c *Client) DeploymentLogs(ctx context.Context, endpoint, name string, lines int) (string, error) {
	resp, err := c.request(ctx, http.MethodGet, fmt.Sprintf("%s/logs?lines=%d", deploymentPath(endpoint, name), lines), nil, "")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return string(data), err
}
