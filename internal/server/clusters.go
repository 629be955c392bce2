package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	v1 "berth/api/v1"
	"berth/internal/store"
)

// clusterNamePattern is what az connectedk8s accepts for a cluster's name.
var clusterNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// resourceGroupPattern is what Azure accepts for a resource group's name; berth keeps it as a
// label.
var resourceGroupPattern = regexp.MustCompile(`^[-\w.()]{1,90}$`)

// maxReportBytes bounds an agent's report (node labels of a large cluster included).
const maxReportBytes = 8 << 20

// decodeJSON decodes a JSON body of at most limit bytes into v, refusing unknown fields;
// example shows the caller what to send.
func decodeJSON(r *http.Request, limit int64, v any, example string) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return badRequest("reading the body: %v", err)
	}
	if int64(len(data)) > limit {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "PayloadTooLarge",
			Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the body is not valid: %v; send JSON such as %s", err, example)
	}
	return nil
}

// normalizeClusterType accepts the cluster types in any case, as az does.
func normalizeClusterType(t string) (string, error) {
	for _, known := range []string{v1.ClusterTypeConnected, v1.ClusterTypeManaged} {
		if strings.EqualFold(t, known) {
			return known, nil
		}
	}
	return "", fmt.Errorf("cluster type %q is not one berth knows; use connectedClusters or managedClusters", t)
}

// checkClusterName says what is wrong with a cluster name, or returns nil.
func checkClusterName(name string) error {
	if name == "" {
		return fmt.Errorf("a cluster needs a name; pass --name")
	}
	if !clusterNamePattern.MatchString(name) {
		return fmt.Errorf("cluster name %q is not valid: use 1 to 63 letters, digits, '-' and '_', starting with a letter or digit", name)
	}
	return nil
}

func (s *Server) createCluster(w http.ResponseWriter, r *http.Request) error {
	var req v1.ClusterRequest
	if err := decodeJSON(r, 64<<10, &req, `{"name": "c1", "clusterType": "connectedClusters", "resourceGroup": "rg"}`); err != nil {
		return err
	}
	if err := checkClusterName(req.Name); err != nil {
		return badRequest("%v", err)
	}
	if req.ClusterType == "" {
		req.ClusterType = v1.ClusterTypeConnected
	}
	clusterType, err := normalizeClusterType(req.ClusterType)
	if err != nil {
		return badRequest("%v", err)
	}
	if req.ResourceGroup != "" && !resourceGroupPattern.MatchString(req.ResourceGroup) {
		return badRequest("resource group %q is not valid: use 1 to 90 letters, digits, '-', '_', '.', '(' and ')'", req.ResourceGroup)
	}
	c := &v1.Cluster{Name: req.Name, ClusterType: clusterType, ResourceGroup: req.ResourceGroup,
		ConnectivityStatus: v1.ClusterConnecting, CreatedAt: s.Now().UTC()}
	token := newAgentToken(c.Name)
	err = s.Store.CreateCluster(r.Context(), c, hashToken(token))
	if errors.Is(err, store.ErrExists) {
		return conflict("cluster %s is already connected; see it with `berth cluster show --name %s`, or delete it first with `berth cluster delete --name %s`", c.Name, c.Name, c.Name)
	}
	if err != nil {
		return internal(err)
	}
	s.Log.Info("cluster registered", "cluster", c.Name)
	writeJSON(w, http.StatusCreated, v1.ClusterCreated{Cluster: *c, AgentToken: token, ServerURL: s.AdvertiseURL, ServerCA: s.ServerCA})
	return nil
}

// newAgentToken makes a cluster's agent token: the cluster's name, a dot, and a secret.
func newAgentToken(cluster string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return cluster + "." + hex.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// withConnectivity sets a cluster's connectivity from its last report: Offline when none came
// for three report intervals.
func (s *Server) withConnectivity(c *v1.Cluster) *v1.Cluster {
	if c.LastHeartbeat != nil && s.Now().Sub(*c.LastHeartbeat) > 3*s.reportInterval() {
		c.ConnectivityStatus = v1.ClusterOffline
	}
	return c
}

func (s *Server) reportInterval() time.Duration {
	if s.ReportInterval > 0 {
		return s.ReportInterval
	}
	return 10 * time.Second
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cluster(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.withConnectivity(c))
	return nil
}

// cluster returns a cluster, or the API's not-found error for it.
func (s *Server) cluster(ctx context.Context, name string) (*v1.Cluster, error) {
	c, err := s.Store.GetCluster(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("cluster %q is not connected to this workspace; see `berth cluster list`, or connect it with `berth cluster connect --name %s --kubeconfig <file>`", name, name)
	}
	if err != nil {
		return nil, internal(err)
	}
	return c, nil
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	list, next, err := s.Store.ListClusters(r.Context(), page)
	if err != nil {
		return listError(err, page)
	}
	for i := range list {
		s.withConnectivity(&list[i])
		list[i].Inventory = nil // a list stays short; show has it
	}
	writeJSON(w, http.StatusOK, v1.List[v1.Cluster]{Value: list, NextLink: nextLink("/api/v1/clusters", r, next, page)})
	return nil
}

// deleteCluster forgets a cluster once its extensions are gone; `berth cluster delete`
// removes them first, then the agent, then calls this. ?force=true forgets a cluster that
// will never report again, extensions and all.
func (s *Server) deleteCluster(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if _, err := s.cluster(r.Context(), name); err != nil {
		return err
	}
	exts, err := s.Store.ListExtensions(r.Context(), name)
	if err != nil {
		return internal(err)
	}
	if len(exts) > 0 && r.URL.Query().Get("force") != "true" {
		return conflict("cluster %s still has extension %s; delete it first with `berth k8s-extension delete --name %s --cluster-name %s`, or pass --force if the cluster is gone",
			name, exts[0].Name, exts[0].Name, name)
	}
	if err := s.Store.DeleteCluster(r.Context(), name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return internal(err)
	}
	s.Log.Info("cluster deleted", "cluster", name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// agentAuthenticated admits a request carrying a cluster's agent token, and tells h which
// cluster it is. The admin token opens nothing here, and agent tokens open nothing else.
func (s *Server) agentAuthenticated(h func(w http.ResponseWriter, r *http.Request, cluster string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		cluster, _, _ := strings.Cut(token, ".")
		want, err := s.Store.ClusterTokenHash(r.Context(), cluster)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			writeError(w, r, s.Log, internal(err))
			return
		}
		if err != nil || subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(want)) != 1 {
			writeError(w, r, s.Log, &Error{Status: http.StatusUnauthorized, Code: "Unauthorized",
				Message: "missing or wrong agent token; reconnect the cluster with `berth cluster connect` to get a new one"})
			return
		}
		if err := h(w, r, cluster); err != nil {
			writeError(w, r, s.Log, err)
		}
	})
}
