// Package client is the Go client of berth's HTTP JSON API, used by the CLI.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/archive"
)

// Client calls one berth server.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// APIError is an error response of the server.
type APIError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *APIError) Error() string { return e.Message }

// ConnError says the server could not be reached.
type ConnError struct {
	URL string
	Err error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("cannot reach the berth server at %s: %v; start it with `berth server`, or point --server or BERTH_SERVER at it", e.URL, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// request sends a request and returns the response when its status is 2xx.
func (c *Client) request(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &ConnError{URL: c.BaseURL, Err: err}
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var apiErr v1.Error
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, &apiErr) != nil || apiErr.Error.Message == "" {
		return nil, &APIError{Status: resp.StatusCode, Code: "HTTP" + strconv.Itoa(resp.StatusCode),
			Message: fmt.Sprintf("the server answered %s: %s", resp.Status, strings.TrimSpace(string(data)))}
	}
	return nil, &APIError{Status: resp.StatusCode, Code: apiErr.Error.Code, Message: apiErr.Error.Message,
		RequestID: apiErr.Error.RequestID}
}

// getJSON decodes the JSON answer of a GET into out.
func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	return c.doJSON(ctx, http.MethodGet, path, nil, out)
}

func (c *Client) doJSON(ctx context.Context, method, path string, body io.Reader, out any) error {
	resp, err := c.request(ctx, method, path, body, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the server's answer to %s %s: %w", method, path, err)
	}
	return nil
}

// Version returns the server's version.
func (c *Client) Version(ctx context.Context) (*v1.Version, error) {
	var v v1.Version
	return &v, c.getJSON(ctx, "/api/v1/version", &v)
}

// Workspace returns the server's workspace.
func (c *Client) Workspace(ctx context.Context) (*v1.Workspace, error) {
	var v v1.Workspace
	return &v, c.getJSON(ctx, "/api/v1/workspace", &v)
}

// ListComputes returns the workspace's computes.
func (c *Client) ListComputes(ctx context.Context) ([]v1.Compute, error) {
	var l v1.List[v1.Compute]
	return l.Value, c.getJSON(ctx, "/api/v1/computes", &l)
}

// GetCompute returns one compute.
func (c *Client) GetCompute(ctx context.Context, name string) (*v1.Compute, error) {
	var v v1.Compute
	return &v, c.getJSON(ctx, "/api/v1/computes/"+url.PathEscape(name), &v)
}

// GetJob returns one job.
func (c *Client) GetJob(ctx context.Context, name string) (*v1.Job, error) {
	var v v1.Job
	return &v, c.getJSON(ctx, "/api/v1/jobs/"+url.PathEscape(name), &v)
}

// ListJobs returns up to max jobs, newest first, following pages; max 0 means all.
func (c *Client) ListJobs(ctx context.Context, max int) ([]v1.Job, error) {
	path := "/api/v1/jobs"
	if max > 0 {
		path += "?limit=" + strconv.Itoa(min(max, 1000))
	}
	return listAll[v1.Job](ctx, c, path, max)
}

// CancelJob asks the server to cancel a job.
func (c *Client) CancelJob(ctx context.Context, name string) (*v1.Job, error) {
	var v v1.Job
	return &v, c.doJSON(ctx, http.MethodPost, "/api/v1/jobs/"+url.PathEscape(name)+"/cancel", nil, &v)
}

// Upload is one local path sent with a job.
type Upload struct {
	Part  string
	Files []archive.File
}

// CreateJob submits a job with its uploads in one request; progress, when set, is told how
// many bytes of file content have been sent.
func (c *Client) CreateJob(ctx context.Context, req v1.SpecRequest, uploads []Upload, progress func(n int64)) (*v1.Job, error) {
	var job v1.Job
	return &job, c.postMultipart(ctx, http.MethodPost, "/api/v1/jobs", req, uploads, progress, &job)
}

func writeJobBody(mw *multipart.Writer, req v1.SpecRequest, uploads []Upload, progress func(int64)) error {
	w, err := mw.CreateFormField("spec")
	if err != nil {
		return err
	}
	if err := json.NewEncoder(w).Encode(req); err != nil {
		return err
	}
	for _, u := range uploads {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, u.Part, u.Part+".tar"))
		h.Set("Content-Type", "application/x-tar")
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if progress != nil {
			w = &countingWriter{w: w, report: progress}
		}
		if err := archive.Write(w, u.Files); err != nil {
			return err
		}
	}
	return mw.Close()
}

type countingWriter struct {
	w      io.Writer
	report func(int64)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.report(int64(n))
	return n, err
}

// StreamLogs copies a job's log to w; with follow it returns when the job ends or ctx does.
func (c *Client) StreamLogs(ctx context.Context, name string, follow bool, w io.Writer) error {
	path := "/api/v1/jobs/" + url.PathEscape(name) + "/logs"
	if follow {
		path += "?follow=true"
	}
	resp, err := c.request(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// DownloadOutput unpacks one output of a job into dir.
func (c *Client) DownloadOutput(ctx context.Context, name, output, dir string) error {
	resp, err := c.request(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(name)+"/outputs/"+url.PathEscape(output), nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return archive.ToDir(resp.Body, dir)
}
