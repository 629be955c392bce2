package server

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/archive"
	"berth/internal/endpointspec"
	"berth/internal/jobspec"
	"berth/internal/local"
	"berth/internal/store"
)

// createModel registers a model version from a multipart upload: the spec (a model YAML),
// then, for a local path, the part "model" holding the file or the folder (its entries under
// the folder's name). A path naming a job output copies that output.
func (s *Server) createModel(w http.ResponseWriter, r *http.Request) error {
	mr, req, err := readSpecPart(r)
	if err != nil {
		return err
	}
	spec, err := endpointspec.ParseModel([]byte(req.YAML), endpointspec.Options{Name: req.Name, Set: req.Set})
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidModel", Message: err.Error()}
	}
	ctx := r.Context()
	if spec.Version == "" {
		if spec.Version, err = s.nextModelVersion(ctx, spec.Name); err != nil {
			return err
		}
	}
	release, err := s.reserve("model "+spec.Name+":"+spec.Version, func() error {
		_, err := s.Store.GetModel(ctx, spec.Name, spec.Version)
		if err == nil {
			return conflict("model %s version %s already exists; give another --version, or leave it out to take the next one", spec.Name, spec.Version)
		}
		return notFoundOK(err)
	})
	if err != nil {
		return err
	}
	defer release()

	m := &v1.Model{Name: spec.Name, Version: spec.Version, Description: spec.Description, Tags: spec.Tags,
		Type: spec.Type, Path: spec.Path, CreationContext: v1.CreationContext{CreatedAt: s.Now().UTC(), CreatedBy: "admin"}}
	key := local.ModelKey(m.Name, m.Version)
	if err := s.storeModelFiles(ctx, mr, m, key); err != nil {
		s.Artifacts.DeletePrefix(context.WithoutCancel(ctx), key)
		return err
	}
	if err := s.Store.CreateModel(ctx, m); err != nil {
		s.Artifacts.DeletePrefix(context.WithoutCancel(ctx), key)
		if errors.Is(err, store.ErrExists) {
			return conflict("model %s version %s already exists", m.Name, m.Version)
		}
		return internal(err)
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// storeModelFiles stores a model's files as one tar under key.
func (s *Server) storeModelFiles(ctx context.Context, mr *multipart.Reader, m *v1.Model, key string) error {
	if jobspec.IsLocalPath(m.Path) {
		want := map[string]string{"model": m.Path}
		got, err := s.receiveParts(ctx, mr, want, func(string) string { return key })
		if err != nil {
			return err
		}
		if err := requireParts(want, got); err != nil {
			return err
		}
		return describeModelFiles(m, got["model"])
	}
	job, output, ok := local.ParseJobOutputRef(m.Path)
	if !ok {
		return badRequest("path %s is neither a local path nor a job output (azureml://jobs/<job>/outputs/<output>)", m.Path)
	}
	src, err := s.job(ctx, job)
	if err != nil {
		return badRequest("path %s: job %s not found; check the name with berth job list", m.Path, job)
	}
	if _, declared := src.Outputs[output]; !declared && output != local.DefaultOutput {
		return badRequest("path %s: job %s has no output named %q; its outputs are: %s", m.Path, job, output, outputNames(src))
	}
	if src.Status != v1.JobCompleted {
		return badRequest("path %s: job %s is %s; a model can be registered from the output of a Completed job", m.Path, job, src.Status)
	}
	keys, err := s.Artifacts.List(ctx, local.OutputPrefix(job, output))
	if err != nil {
		return internal(err)
	}
	if len(keys) == 0 {
		return badRequest("path %s: output %s of job %s is empty; nothing to register", m.Path, output, job)
	}
	if err := archive.StorePrefixAsTar(ctx, s.Artifacts, local.OutputPrefix(job, output), output, key); err != nil {
		return internal(err)
	}
	m.FolderName = output
	return nil
}

// describeModelFiles records whether an uploaded model is one file or a folder: a file's one
// entry has no folder, a folder's entries all sit under the folder's name.
func describeModelFiles(m *v1.Model, names []string) error {
	first := map[string]bool{}
	for _, rel := range names {
		top, _, nested := strings.Cut(rel, "/")
		if !nested {
			if len(names) != 1 {
				return badRequest("the model upload mixes a file (%s) with other entries; upload one file, or one folder", rel)
			}
			m.FileName = top
			return nil
		}
		first[top] = true
	}
	if len(first) != 1 {
		return badRequest("the model upload holds several folders (%s); upload one file, or one folder", listOrNone(sortedKeys(first)))
	}
	for top := range first {
		m.FolderName = top
	}
	return nil
}

// nextModelVersion is one more than the highest whole-number version of a model, or "1".
func (s *Server) nextModelVersion(ctx context.Context, name string) (string, error) {
	highest, token := 0, ""
	for {
		models, next, err := s.Store.ListModels(ctx, name, store.Page{Limit: store.MaxLimit, Token: token})
		if err != nil {
			return "", internal(err)
		}
		for _, m := range models {
			if n, err := strconv.Atoi(m.Version); err == nil && n > highest {
				highest = n
			}
		}
		if next == "" {
			return strconv.Itoa(highest + 1), nil
		}
		token = next
	}
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	models, next, err := s.Store.ListModels(r.Context(), r.URL.Query().Get("name"), page)
	if err != nil {
		return listError(err, page)
	}
	writeJSON(w, http.StatusOK, v1.List[v1.Model]{Value: models, NextLink: nextLink("/api/v1/models", r, next, page)})
	return nil
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) error {
	m, err := s.model(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// model returns a model version; version "" is the latest.
func (s *Server) model(ctx context.Context, name, version string) (*v1.Model, error) {
	var m *v1.Model
	var err error
	if version == "" {
		m, err = s.Store.LatestModel(ctx, name)
	} else {
		m, err = s.Store.GetModel(ctx, name, version)
	}
	if errors.Is(err, store.ErrNotFound) {
		if version == "" {
			return nil, notFound("model %s not found; see berth model list", name)
		}
		return nil, notFound("model %s version %s not found; see berth model list -n %s", name, version, name)
	}
	if err != nil {
		return nil, internal(err)
	}
	return m, nil
}

// resolveModelRef finds the model an azureml:<name>:<version> or azureml:<name>@latest
// reference names.
func (s *Server) resolveModelRef(ctx context.Context, ref string) (*v1.Model, error) {
	rest := strings.TrimPrefix(ref, "azureml:")
	name, version := rest, ""
	if n, label, ok := strings.Cut(rest, "@"); ok {
		if label != "latest" {
			return nil, badRequest("model reference %s: the only label is @latest", ref)
		}
		name = n
	} else if n, v, ok := strings.Cut(rest, ":"); ok {
		name, version = n, v
	} else {
		return nil, badRequest("model reference %s names no version; write azureml:%s:<version> or azureml:%s@latest", ref, rest, rest)
	}
	m, err := s.model(ctx, name, version)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		return nil, badRequest("model %s: %s", ref, e.Message)
	}
	return m, err
}

func (s *Server) downloadModel(w http.ResponseWriter, r *http.Request) error {
	m, err := s.model(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	rc, err := s.Artifacts.Open(r.Context(), local.ModelKey(m.Name, m.Version))
	if err != nil {
		return internal(err)
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	_, err = io.Copy(w, rc)
	return err
}

func notFoundOK(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return internal(err)
	}
	return nil
}
