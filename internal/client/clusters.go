package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	v1 "berth/api/v1"
)

// HTTPClientWithCA returns an HTTP client that trusts the PEM certificates in ca: a file's
// path, or the PEM text itself. Proxies come from HTTPS_PROXY and NO_PROXY.
func HTTPClientWithCA(ca string) (*http.Client, error) {
	pemData := []byte(ca)
	if !strings.HasPrefix(strings.TrimSpace(ca), "-----BEGIN") {
		data, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("reading the server's CA certificate: %w", err)
		}
		pemData = data
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("the server's CA certificate %s holds no PEM certificate", shortCA(ca))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}

func shortCA(ca string) string {
	if strings.HasPrefix(strings.TrimSpace(ca), "-----BEGIN") {
		return "(given as PEM text)"
	}
	return ca
}

func clusterPath(name string) string { return "/api/v1/clusters/" + url.PathEscape(name) }

func extensionPath(cluster, name string) string {
	return clusterPath(cluster) + "/extensions/" + url.PathEscape(name)
}

// CreateCluster registers a cluster and returns its agent token.
func (c *Client) CreateCluster(ctx context.Context, req v1.ClusterRequest) (*v1.ClusterCreated, error) {
	var out v1.ClusterCreated
	return &out, c.sendJSON(ctx, http.MethodPost, "/api/v1/clusters", req, &out)
}

// GetCluster returns a cluster.
func (c *Client) GetCluster(ctx context.Context, name string) (*v1.Cluster, error) {
	var out v1.Cluster
	return &out, c.getJSON(ctx, clusterPath(name), &out)
}

// ListClusters returns up to max clusters (0: all).
func (c *Client) ListClusters(ctx context.Context, max int) ([]v1.Cluster, error) {
	return listAll[v1.Cluster](ctx, c, "/api/v1/clusters", max)
}

// DeleteCluster forgets a cluster; force forgets its extensions too.
func (c *Client) DeleteCluster(ctx context.Context, name string, force bool) error {
	path := clusterPath(name)
	if force {
		path += "?force=true"
	}
	return c.sendJSON(ctx, http.MethodDelete, path, nil, nil)
}

// CreateExtension installs an extension on a cluster.
func (c *Client) CreateExtension(ctx context.Context, cluster, name string, req v1.ExtensionRequest) (*v1.Extension, error) {
	var out v1.Extension
	return &out, c.sendJSON(ctx, http.MethodPut, extensionPath(cluster, name), req, &out)
}

// UpdateExtension changes an extension's settings.
func (c *Client) UpdateExtension(ctx context.Context, cluster, name string, req v1.ExtensionRequest) (*v1.Extension, error) {
	var out v1.Extension
	return &out, c.sendJSON(ctx, http.MethodPatch, extensionPath(cluster, name), req, &out)
}

// GetExtension returns an extension.
func (c *Client) GetExtension(ctx context.Context, cluster, name string) (*v1.Extension, error) {
	var out v1.Extension
	return &out, c.getJSON(ctx, extensionPath(cluster, name), &out)
}

// ListExtensions returns a cluster's extensions.
func (c *Client) ListExtensions(ctx context.Context, cluster string) ([]v1.Extension, error) {
	var out v1.List[v1.Extension]
	return out.Value, c.getJSON(ctx, clusterPath(cluster)+"/extensions", &out)
}

// DeleteExtension asks for an extension's removal; it is gone once the agent uninstalled it.
func (c *Client) DeleteExtension(ctx context.Context, cluster, name string) (*v1.Extension, error) {
	var out v1.Extension
	return &out, c.sendJSON(ctx, http.MethodDelete, extensionPath(cluster, name), nil, &out)
}

// Report sends an agent's report (the client's token is the cluster's agent token) and
// returns the desired state.
func (c *Client) Report(ctx context.Context, rep *v1.AgentReport) (*v1.AgentDesired, error) {
	var out v1.AgentDesired
	return &out, c.sendJSON(ctx, http.MethodPost, "/api/v1/agent/report", rep, &out)
}
