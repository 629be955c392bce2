package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	v1 "berth/api/v1"
	"berth/internal/endpointspec"
	"berth/internal/local"
	"berth/internal/router"
	"berth/internal/secrets"
	"berth/internal/store"
)

// TokenLifetime is how long an aml_token credential is valid.
const TokenLifetime = time.Hour

// sealedKeys is how an endpoint's keys are kept: sealed with the server key.
type sealedKeys struct {
	Primary   string `json:"primary"`
	Secondary string `json:"secondary"`
}

func (s *Server) sealKeys(k sealedKeys) string {
	data, _ := json.Marshal(k)
	return s.Box.Seal(data)
}

func (s *Server) endpointKeys(ctx context.Context, name string) (sealedKeys, error) {
	var k sealedKeys
	sealed, err := s.Store.EndpointKeys(ctx, name)
	if err != nil {
		return k, err
	}
	plain, err := s.Box.Open(sealed)
	if err != nil {
		return k, fmt.Errorf("opening the keys of endpoint %s (was the server key replaced?): %w", name, err)
	}
	return k, json.Unmarshal(plain, &k)
}

// withScoringURI fills in what an endpoint's record does not hold: where it is scored.
func (s *Server) withScoringURI(e *v1.OnlineEndpoint) *v1.OnlineEndpoint {
	e.ScoringURI = s.RouterURL + "/api/v1/endpoint/" + e.Name + "/score"
	return e
}

func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeSpecRequest(r.Body)
	if err != nil {
		return err
	}
	spec, err := endpointspec.ParseEndpoint([]byte(req.YAML), endpointspec.Options{Name: req.Name, Set: req.Set})
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidEndpoint", Message: err.Error()}
	}
	if spec.Compute != local.ComputeName {
		return badRequest("compute %q not found; this workspace has: %s (see berth compute list)", spec.Compute, local.ComputeName)
	}
	if err := checkTraffic(spec, nil); err != nil {
		return err
	}
	e := &v1.OnlineEndpoint{OnlineEndpointSpec: *spec, ProvisioningState: v1.StateSucceeded,
		CreationContext: v1.CreationContext{CreatedAt: s.Now().UTC(), CreatedBy: "admin"}}
	keys := sealedKeys{Primary: secrets.RandomKey(), Secondary: secrets.RandomKey()}
	if err := s.Store.CreateEndpoint(r.Context(), e, s.sealKeys(keys)); err != nil {
		if errors.Is(err, store.ErrExists) {
			return conflict("endpoint %s already exists; update it with berth online-endpoint update, or choose another name", e.Name)
		}
		return internal(err)
	}
	s.syncRoute(r.Context(), e.Name)
	writeJSON(w, http.StatusCreated, s.withScoringURI(e))
	return nil
}

// checkTraffic checks that traffic and mirror traffic name deployments the endpoint has.
func checkTraffic(spec *v1.OnlineEndpointSpec, deps []v1.OnlineDeployment) error {
	have := map[string]bool{}
	for _, d := range deps {
		have[d.Name] = true
	}
	for _, field := range []struct {
		name string
		m    map[string]int
	}{{"traffic", spec.Traffic}, {"mirror_traffic", spec.MirrorTraffic}} {
		for _, dep := range sortedKeys(field.m) {
			if !have[dep] {
				return badRequest("%s names deployment %s, which endpoint %s does not have (its deployments: %s); create the deployment first, then set %s",
					field.name, dep, spec.Name, listOrNone(sortedKeys(have)), field.name)
			}
		}
	}
	for dep := range spec.MirrorTraffic {
		if spec.Traffic[dep] > 0 {
			return badRequest("deployment %s cannot take both live and mirrored traffic; mirror to a deployment whose traffic is 0", dep)
		}
	}
	return nil
}

// updateEndpoint replaces an endpoint's spec with the one sent: the CLI sends the current
// spec with the user's changes.
func (s *Server) updateEndpoint(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	req, err := decodeSpecRequest(r.Body)
	if err != nil {
		return err
	}
	spec, err := endpointspec.ParseEndpoint([]byte(req.YAML), endpointspec.Options{Set: req.Set})
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidEndpoint", Message: err.Error()}
	}
	if spec.Name != name {
		return badRequest("the spec names endpoint %s, but the endpoint being updated is %s; an endpoint cannot be renamed (create one under the new name)", spec.Name, name)
	}
	e, err := s.Store.UpdateEndpoint(r.Context(), name, func(e *v1.OnlineEndpoint, deps []v1.OnlineDeployment) error {
		if spec.Compute != e.Compute {
			return badRequest("the compute of endpoint %s is %s and cannot change; delete the endpoint and create it again", name, e.Compute)
		}
		if err := checkTraffic(spec, deps); err != nil {
			return err
		}
		e.OnlineEndpointSpec = *spec
		return nil
	})
	if err != nil {
		return s.endpointError(err, name)
	}
	s.syncRoute(r.Context(), name)
	writeJSON(w, http.StatusOK, s.withScoringURI(e))
	return nil
}

func (s *Server) endpointError(err error, name string) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrNotFound):
		return notFound("endpoint %s not found; see berth online-endpoint list", name)
	}
	return internal(err)
}

func (s *Server) getEndpoint(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	e, err := s.Store.GetEndpoint(r.Context(), name)
	if err != nil {
		return s.endpointError(err, name)
	}
	writeJSON(w, http.StatusOK, s.withScoringURI(e))
	return nil
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	eps, next, err := s.Store.ListEndpoints(r.Context(), page)
	if err != nil {
		return listError(err, page)
	}
	for i := range eps {
		s.withScoringURI(&eps[i])
	}
	writeJSON(w, http.StatusOK, v1.List[v1.OnlineEndpoint]{Value: eps, NextLink: nextLink("/api/v1/endpoints", r, next, page)})
	return nil
}

// deleteEndpoint stops the endpoint's deployments and removes it.
func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	deps, err := s.Store.ListDeployments(r.Context(), name)
	if err != nil {
		return internal(err)
	}
	s.routeMu.Lock()
	err = s.Store.DeleteEndpoint(r.Context(), name)
	if err == nil {
		s.Router.RemoveEndpoint(name)
	}
	s.routeMu.Unlock()
	if err != nil {
		return s.endpointError(err, name)
	}
	for _, d := range deps {
		s.Serving.Remove(name, d.Name)
	}
	s.Artifacts.DeletePrefix(context.WithoutCancel(r.Context()), "endpoints/"+name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getCredentials returns the endpoint's keys, or a new token in aml_token mode.
func (s *Server) getCredentials(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	e, err := s.Store.GetEndpoint(r.Context(), name)
	if err != nil {
		return s.endpointError(err, name)
	}
	if e.AuthMode == v1.AuthAMLToken {
		expires := s.Now().Add(TokenLifetime).UTC()
		writeJSON(w, http.StatusOK, v1.EndpointToken{AccessToken: s.Box.Token(name, endpointInstance(e), expires), TokenType: "Bearer", ExpiryOn: expires})
		return nil
	}
	k, err := s.endpointKeys(r.Context(), name)
	if err != nil {
		return s.endpointError(err, name)
	}
	writeJSON(w, http.StatusOK, v1.EndpointKeys{PrimaryKey: k.Primary, SecondaryKey: k.Secondary})
	return nil
}

// regenerateKeys replaces one key; the router refuses the old one from then on.
func (s *Server) regenerateKeys(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var req struct {
		KeyType string `json:"key_type"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badRequest("the body must be {\"key_type\": \"primary\" or \"secondary\"}: %v", err)
	}
	kt := strings.ToLower(req.KeyType)
	if kt != "primary" && kt != "secondary" {
		return badRequest("key_type %q is not a key; use primary or secondary", req.KeyType)
	}
	e, err := s.Store.GetEndpoint(r.Context(), name)
	if err != nil {
		return s.endpointError(err, name)
	}
	if e.AuthMode != v1.AuthKey {
		return badRequest("endpoint %s uses auth_mode %s, which has no keys; its tokens expire by themselves, and get-credentials gives a new one", name, e.AuthMode)
	}
	k, err := s.endpointKeys(r.Context(), name)
	if err != nil {
		return s.endpointError(err, name)
	}
	if kt == "primary" {
		k.Primary = secrets.RandomKey()
	} else {
		k.Secondary = secrets.RandomKey()
	}
	if err := s.Store.SetEndpointKeys(r.Context(), name, s.sealKeys(k)); err != nil {
		return s.endpointError(err, name)
	}
	s.syncRoute(r.Context(), name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// endpointInstance tells an endpoint from others that had or will have its name: its
// creation time, to the nanosecond.
func endpointInstance(e *v1.OnlineEndpoint) string {
	return strconv.FormatInt(e.CreationContext.CreatedAt.UnixNano(), 36)
}

// syncRoute tells the router what an endpoint looks like now.
func (s *Server) syncRoute(ctx context.Context, name string) {
	s.routeMu.Lock()
	defer s.routeMu.Unlock()
	ctx = context.WithoutCancel(ctx)
	e, err := s.Store.GetEndpoint(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		s.Router.RemoveEndpoint(name)
		return
	}
	if err != nil {
		s.Log.Error("syncing route", "endpoint", name, "error", err)
		return
	}
	route := router.Endpoint{Name: name, Instance: endpointInstance(e), AuthMode: e.AuthMode, Traffic: e.Traffic,
		Mirror: e.MirrorTraffic, Deployments: map[string]router.Deployment{}}
	if e.AuthMode == v1.AuthKey {
		k, err := s.endpointKeys(ctx, name)
		if err != nil {
			s.Log.Error("syncing route", "endpoint", name, "error", err)
			return
		}
		route.Keys = []string{k.Primary, k.Secondary}
	}
	deps, err := s.Store.ListDeployments(ctx, name)
	if err != nil {
		s.Log.Error("syncing route", "endpoint", name, "error", err)
		return
	}
	for _, d := range deps {
		ready, _ := s.Serving.Instances(name, d.Name)
		route.Deployments[d.Name] = router.Deployment{Name: d.Name, State: d.ProvisioningState,
			Instances: ready, Wanted: max(d.InstanceCount, 1), Settings: d.RequestSettings}
	}
	s.Router.SetEndpoint(route)
}

// SyncAllRoutes tells the router every endpoint, at start.
func (s *Server) SyncAllRoutes(ctx context.Context) error {
	token := ""
	for {
		eps, next, err := s.Store.ListEndpoints(ctx, store.Page{Limit: store.MaxLimit, Token: token})
		if err != nil {
			return err
		}
		for _, e := range eps {
			s.syncRoute(ctx, e.Name)
		}
		if next == "" {
			return nil
		}
		token = next
	}
}
