package server

import (
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"

	v1 "berth/api/v1"
	"berth/internal/archive"
	"berth/internal/artifacts"
	"berth/internal/endpointspec"
	"berth/internal/local"
	"berth/internal/store"
)

// createDeployment creates a deployment from a multipart upload (spec, then the parts
// "code" and, for an inline model, "model") and starts its instances.
func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) error {
	return s.putDeployment(w, r, false)
}

// updateDeployment starts a new generation of a deployment from a new spec; parts not sent
// are taken from the previous generation. The previous generation serves until the new one
// is ready.
func (s *Server) updateDeployment(w http.ResponseWriter, r *http.Request) error {
	return s.putDeployment(w, r, true)
}

func (s *Server) putDeployment(w http.ResponseWriter, r *http.Request, update bool) error {
	ctx := r.Context()
	endpoint := r.PathValue("endpoint")
	mr, req, err := readSpecPart(r)
	if err != nil {
		return err
	}
	name := req.Name
	if update {
		name = r.PathValue("name")
	}
	spec, err := endpointspec.ParseDeployment([]byte(req.YAML), endpointspec.Options{Name: name, Set: req.Set})
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidDeployment", Message: err.Error()}
	}
	if spec.EndpointName != endpoint {
		return badRequest("the file's endpoint_name is %s, but the deployment is being created in endpoint %s; fix endpoint_name or --endpoint-name", spec.EndpointName, endpoint)
	}
	if err := local.CheckDeployment(spec); err != nil {
		return badRequest("%v", err)
	}
	if _, err := s.Store.GetEndpoint(ctx, endpoint); err != nil {
		return s.endpointError(err, endpoint)
	}
	var prev *v1.OnlineDeployment
	release, err := s.reserve("deployment "+endpoint+"/"+spec.Name, func() error {
		var err error
		prev, err = s.Store.GetDeployment(ctx, endpoint, spec.Name)
		switch {
		case err == nil && !update:
			return conflict("deployment %s already exists in endpoint %s; change it with berth online-deployment update", spec.Name, endpoint)
		case errors.Is(err, store.ErrNotFound) && update:
			return notFound("deployment %s not found in endpoint %s; see berth online-deployment list -e %s", spec.Name, endpoint, endpoint)
		}
		return notFoundOK(err)
	})
	if err != nil {
		return err
	}
	defer release()

	d := &v1.OnlineDeployment{OnlineDeploymentSpec: *spec, Generation: 1, ProvisioningState: v1.StateCreating,
		CreationContext: v1.CreationContext{CreatedAt: s.Now().UTC(), CreatedBy: "admin"}}
	if prev != nil {
		d.Generation, d.ProvisioningState, d.CreationContext = prev.Generation+1, v1.StateUpdating, prev.CreationContext
	}
	if err := s.resolveDeploymentModel(ctx, d); err != nil {
		return err
	}
	genPrefix := local.DeploymentPrefix(*d)
	if err := s.receiveDeploymentParts(ctx, mr, d, prev); err != nil {
		s.Artifacts.DeletePrefix(context.WithoutCancel(ctx), genPrefix)
		return err
	}
	if update {
		_, err = s.Store.UpdateDeployment(ctx, endpoint, d.Name, func(cur *v1.OnlineDeployment) error {
			*cur = *d
			return nil
		})
	} else {
		err = s.Store.CreateDeployment(ctx, d)
	}
	if err != nil {
		s.Artifacts.DeletePrefix(context.WithoutCancel(ctx), genPrefix)
		return s.endpointError(err, endpoint)
	}
	if err := s.Serving.Apply(context.WithoutCancel(ctx), *d); err != nil {
		s.Log.Error("starting deployment", "deployment", endpoint+"/"+d.Name, "error", err)
	}
	s.syncRoute(ctx, endpoint)
	status := http.StatusCreated
	if update {
		status = http.StatusOK
	}
	writeJSON(w, status, d)
	return nil
}

// resolveDeploymentModel records which registered model version a reference names.
func (s *Server) resolveDeploymentModel(ctx context.Context, d *v1.OnlineDeployment) error {
	if d.Model == nil || d.Model.Ref == "" {
		return nil
	}
	m, err := s.resolveModelRef(ctx, d.Model.Ref)
	if err != nil {
		return err
	}
	d.Model.Name, d.Model.Version = m.Name, m.Version
	return nil
}

// receiveDeploymentParts stores the code and inline model of a deployment generation. On an
// update, a part not sent is copied from the previous generation.
func (s *Server) receiveDeploymentParts(ctx context.Context, mr *multipart.Reader, d *v1.OnlineDeployment, prev *v1.OnlineDeployment) error {
	want := map[string]string{}
	for _, lp := range endpointspec.LocalPaths(&d.OnlineDeploymentSpec) {
		want[lp.Part] = lp.Path
	}
	got, err := s.receiveParts(ctx, mr, want, func(part string) string { return local.DeploymentUploadKey(*d, part) })
	if err != nil {
		return err
	}
	for part := range want {
		if got[part] != nil || prev == nil {
			continue
		}
		if err := archive.CopyKey(ctx, s.Artifacts, local.DeploymentUploadKey(*prev, part), local.DeploymentUploadKey(*d, part)); err != nil {
			return internal(err)
		}
		if got[part], err = tarNames(ctx, s.Artifacts, local.DeploymentUploadKey(*d, part)); err != nil {
			return internal(err)
		}
	}
	if err := requireParts(want, got); err != nil {
		return err
	}
	if !slices.Contains(got["code"], d.CodeConfiguration.ScoringScript) {
		return badRequest("code_configuration.scoring_script %s is not in the code folder %s; check both names", d.CodeConfiguration.ScoringScript, d.CodeConfiguration.Code)
	}
	return nil
}

// tarNames lists the files of a stored tar.
func tarNames(ctx context.Context, store artifacts.Store, key string) ([]string, error) {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return archive.Names(rc)
}

func (s *Server) deploymentOf(r *http.Request) (*v1.OnlineDeployment, error) {
	endpoint, name := r.PathValue("endpoint"), r.PathValue("name")
	d, err := s.Store.GetDeployment(r.Context(), endpoint, name)
	if errors.Is(err, store.ErrNotFound) {
		if _, eerr := s.Store.GetEndpoint(r.Context(), endpoint); eerr != nil {
			return nil, s.endpointError(eerr, endpoint)
		}
		return nil, notFound("deployment %s not found in endpoint %s; see berth online-deployment list -e %s", name, endpoint, endpoint)
	}
	if err != nil {
		return nil, internal(err)
	}
	_, d.Instances = s.Serving.Instances(endpoint, name)
	return d, nil
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deploymentOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// TODO(server): deployments are listed whole, unlike jobs, models and endpoints; an
// endpoint has few, but limit and page_token should work here too.
func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	endpoint := r.PathValue("endpoint")
	if _, err := s.Store.GetEndpoint(r.Context(), endpoint); err != nil {
		return s.endpointError(err, endpoint)
	}
	deps, err := s.Store.ListDeployments(r.Context(), endpoint)
	if err != nil {
		return internal(err)
	}
	for i := range deps {
		_, deps[i].Instances = s.Serving.Instances(endpoint, deps[i].Name)
	}
	writeJSON(w, http.StatusOK, v1.List[v1.OnlineDeployment]{Value: deps})
	return nil
}

// deleteDeployment stops and removes a deployment that receives no traffic.
func (s *Server) deleteDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deploymentOf(r)
	if err != nil {
		return err
	}
	endpoint := d.EndpointName
	e, err := s.Store.GetEndpoint(r.Context(), endpoint)
	if err != nil {
		return s.endpointError(err, endpoint)
	}
	if pct := e.Traffic[d.Name]; pct > 0 {
		return conflict("deployment %s receives %d%% of endpoint %s's traffic; move it elsewhere first (berth online-endpoint update -n %s --traffic \"...\")", d.Name, pct, endpoint, endpoint)
	}
	if pct := e.MirrorTraffic[d.Name]; pct > 0 {
		return conflict("deployment %s receives %d%% of endpoint %s's mirror traffic; remove it from mirror_traffic first", d.Name, pct, endpoint)
	}
	if err := s.Store.DeleteDeployment(r.Context(), endpoint, d.Name); err != nil {
		return internal(err)
	}
	s.Serving.Remove(endpoint, d.Name)
	s.Artifacts.DeletePrefix(context.WithoutCancel(r.Context()), "endpoints/"+endpoint+"/deployments/"+d.Name)
	s.syncRoute(r.Context(), endpoint)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deploymentLogs(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deploymentOf(r)
	if err != nil {
		return err
	}
	lines := 100
	if l := r.URL.Query().Get("lines"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			return badRequest("lines must be a whole number from 1 to 10000, not %q", l)
		}
		lines = n
	}
	logs, err := s.Serving.Logs(d.EndpointName, d.Name, lines)
	if err != nil {
		return internal(err)
	}
	if d.Error != nil {
		logs += fmt.Sprintf("==> deployment %s is %s <==\n%s\n", d.Name, d.ProvisioningState, d.Error.Message)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(logs))
	return nil
}
