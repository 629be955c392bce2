package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "berth/api/v1"
	"berth/internal/archive"
	"berth/internal/jobspec"
	"berth/internal/local"
	"berth/internal/store"
)

// maxSpecBytes bounds the spec part of a job upload.
const maxSpecBytes = 4 << 20

// createJob takes a multipart body: the SpecRequest as part "spec", then one tar stream
// per local path the job names. The job is validated before anything is stored, and nothing
// is left behind when a later step fails.
func (s *Server) createJob(w http.ResponseWriter, r *http.Request) error {
	mr, req, err := readSpecPart(r)
	if err != nil {
		return err
	}
	spec, err := jobspec.Parse([]byte(req.YAML), jobspec.Options{Name: req.Name, Set: req.Set})
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidJob", Message: err.Error()}
	}
	if err := s.checkReferences(r.Context(), spec); err != nil {
		return err
	}
	if spec.Name == "" {
		spec.Name = generateName()
	}
	release, err := s.reserve("job "+spec.Name, func() error {
		_, err := s.Store.GetJob(r.Context(), spec.Name)
		if err == nil {
			return conflict("job %s already exists; choose another name with --name", spec.Name)
		}
		return notFoundOK(err)
	})
	if err != nil {
		return err
	}
	defer release()

	job := &v1.Job{JobSpec: *spec, Status: v1.JobQueued,
		CreationContext: v1.CreationContext{CreatedAt: s.Now().UTC(), CreatedBy: "admin"}}
	if err := s.receiveUploads(r.Context(), mr, job); err != nil {
		s.Artifacts.DeletePrefix(context.WithoutCancel(r.Context()), "jobs/"+job.Name)
		return err
	}
	if err := s.Store.CreateJob(r.Context(), job); err != nil {
		s.Artifacts.DeletePrefix(context.WithoutCancel(r.Context()), "jobs/"+job.Name)
		if errors.Is(err, store.ErrExists) {
			return conflict("job %s already exists; choose another name with --name", job.Name)
		}
		return internal(err)
	}
	s.Local.Enqueue(job.Name)
	s.Log.Info("job created", "job", job.Name, "request_id", requestID(r.Context()))
	writeJSON(w, http.StatusCreated, job)
	return nil
}

// readSpecPart opens a multipart upload and reads its first part, which must be "spec"; the
// returned reader is at the parts that follow.
func readSpecPart(r *http.Request) (*multipart.Reader, *v1.SpecRequest, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, badRequest("the body must be multipart/form-data with a first part named \"spec\": %v", err)
	}
	part, err := mr.NextPart()
	if err != nil {
		return nil, nil, badRequest("the body has no \"spec\" part: %v", err)
	}
	defer part.Close()
	if part.FormName() != "spec" {
		return nil, nil, badRequest("the first part of the body must be \"spec\", not %q", part.FormName())
	}
	req, err := decodeSpecRequest(part)
	return mr, req, err
}

// decodeSpecRequest decodes a SpecRequest, refusing unknown fields.
func decodeSpecRequest(r io.Reader) (*v1.SpecRequest, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSpecBytes+1))
	if err != nil {
		return nil, badRequest("reading the spec: %v", err)
	}
	if len(data) > maxSpecBytes {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "PayloadTooLarge",
			Message: fmt.Sprintf("the spec is larger than %d bytes; keep data out of the YAML file and pass it as an input or a model path", maxSpecBytes)}
	}
	var req v1.SpecRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest(`the spec is not a valid request: %v; send JSON such as {"yaml": "<the file>", "name": "<optional>", "set": ["path=value"]}`, err)
	}
	return &req, nil
}

// checkReferences checks what the job names outside itself: its compute and the job outputs
// it takes as inputs.
func (s *Server) checkReferences(ctx context.Context, spec *v1.JobSpec) error {
	if spec.Compute != local.ComputeName {
		return badRequest("compute %q not found; this workspace has: %s (see berth compute list)", spec.Compute, local.ComputeName)
	}
	if err := local.CheckJob(spec); err != nil {
		return badRequest("%v", err)
	}
	for _, name := range sortedKeys(spec.Inputs) {
		in := spec.Inputs[name]
		ref, ok := strings.CutPrefix(in.Path, "azureml://jobs/")
		if !ok {
			continue
		}
		src, output, _ := strings.Cut(ref, "/outputs/")
		job, err := s.Store.GetJob(ctx, src)
		if errors.Is(err, store.ErrNotFound) {
			return badRequest("inputs.%s: job %s not found; check the name with berth job list", name, src)
		}
		if err != nil {
			return internal(err)
		}
		if _, declared := job.Outputs[output]; !declared && output != local.DefaultOutput {
			return badRequest("inputs.%s: job %s has no output named %q; its outputs are: %s", name, src, output, outputNames(job))
		}
		if job.Status != v1.JobCompleted {
			return badRequest("inputs.%s: job %s is %s; its outputs can be used once it has Completed", name, src, job.Status)
		}
	}
	return nil
}

// reserve claims a resource name (such as "job x") for the length of one create request, so
// that two uploads under one name never write into the same artifact folder. check, run
// under the claim, fails when the resource exists.
func (s *Server) reserve(name string, check func() error) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.creating == nil {
		s.creating = map[string]bool{}
	}
	if s.creating[name] {
		return nil, conflict("%s is being created by another request; wait for it, or choose another name", name)
	}
	if err := check(); err != nil {
		return nil, err
	}
	s.creating[name] = true
	return func() {
		s.mu.Lock()
		delete(s.creating, name)
		s.mu.Unlock()
	}, nil
}

// receiveUploads stores the tar parts that follow the spec, one per local path of the job.
func (s *Server) receiveUploads(ctx context.Context, mr *multipart.Reader, job *v1.Job) error {
	want := map[string]string{}
	for _, lp := range jobspec.LocalPaths(&job.JobSpec) {
		want[lp.Part] = lp.Path
	}
	got, err := s.receiveParts(ctx, mr, want, func(part string) string { return local.UploadKey(job.Name, part) })
	if err != nil {
		return err
	}
	return requireParts(want, got)
}

// receiveParts stores each tar part that follows the spec under key(part), checking its
// entries, and returns the names of each part's files. want maps the parts expected to the
// paths they came from.
func (s *Server) receiveParts(ctx context.Context, mr *multipart.Reader, want map[string]string, key func(string) string) (map[string][]string, error) {
	got := map[string][]string{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return nil, badRequest("reading the upload: %v", err)
		}
		name := part.FormName()
		if _, ok := want[name]; !ok || got[name] != nil {
			part.Close()
			return nil, badRequest("unexpected upload part %q; the parts expected are: %s", name, listOrNone(sortedKeys(want)))
		}
		names, err := archive.StoreTar(ctx, part, s.Artifacts, key(name))
		part.Close()
		if err != nil {
			return nil, badRequest("upload part %q must be a tar stream of the files of %s: %v", name, want[name], err)
		}
		if names == nil {
			names = []string{} // an empty code folder was still sent
		}
		got[name] = names
		if len(names) == 0 && name != "code" {
			return nil, badRequest("%s: %s is empty; it must hold at least one file", name, want[name])
		}
	}
}

// requireParts fails when a wanted part was not uploaded.
func requireParts(want map[string]string, got map[string][]string) error {
	for _, name := range sortedKeys(want) {
		if got[name] == nil {
			return badRequest("%s: local path %s was not uploaded; send it as a tar stream in the multipart part %q", name, want[name], name)
		}
	}
	return nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	job, err := s.job(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (s *Server) job(ctx context.Context, name string) (*v1.Job, error) {
	job, err := s.Store.GetJob(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("job %s not found; see berth job list", name)
	}
	if err != nil {
		return nil, internal(err)
	}
	return job, nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	jobs, next, err := s.Store.ListJobs(r.Context(), page)
	if err != nil {
		return listError(err, page)
	}
	writeJSON(w, http.StatusOK, v1.List[v1.Job]{Value: jobs, NextLink: nextLink("/api/v1/jobs", r, next, page)})
	return nil
}

// pageOf reads the limit and page_token of a list request.
func pageOf(r *http.Request) (store.Page, error) {
	q := r.URL.Query()
	page := store.Page{Token: q.Get("page_token")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxLimit {
			return page, badRequest("limit must be a whole number from 1 to %d, not %q", store.MaxLimit, l)
		}
		page.Limit = n
	}
	return page, nil
}

func listError(err error, page store.Page) error {
	if errors.Is(err, store.ErrBadToken) {
		return badRequest("page_token %q is not one this server gave; start again without it", page.Token)
	}
	return internal(err)
}

// nextLink is the path of the page after this one, or "" at the end.
func nextLink(path string, r *http.Request, next string, page store.Page) string {
	if next == "" {
		return ""
	}
	q := r.URL.Query()
	q.Set("page_token", next)
	if page.Limit > 0 {
		q.Set("limit", strconv.Itoa(page.Limit))
	}
	return path + "?" + q.Encode()
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	job, err := s.Local.Cancel(r.Context(), name)
	var stateErr *local.StateError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("job %s not found; see berth job list", name)
	case errors.As(err, &stateErr):
		return conflict("%s", stateErr.Error())
	case err != nil:
		return internal(err)
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

// jobLogs sends the job's log; with follow=true it keeps sending until the job ends. A
// running job's log is read from its folder, a finished one's from the artifact store; both
// hold the same bytes, so the offset carries over.
func (s *Server) jobLogs(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if _, err := s.job(r.Context(), name); err != nil {
		return err
	}
	follow, err := boolParam(r, "follow")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	var offset int64
	for {
		job, err := s.Store.GetJob(r.Context(), name)
		if err != nil {
			return nil // the response has started; the client sees the stream end
		}
		n, err := s.copyLog(r.Context(), w, name, offset)
		offset += n
		if err != nil {
			s.Log.Error("streaming log", "job", name, "error", err)
			return nil
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !follow || job.Status.Terminal() {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-time.After(s.LogPoll):
		}
	}
}

// copyLog writes the job's log from offset on and returns how many bytes it wrote.
func (s *Server) copyLog(ctx context.Context, w io.Writer, name string, offset int64) (int64, error) {
	var rc io.ReadCloser
	f, err := os.Open(s.Local.LogPath(name))
	switch {
	case err == nil:
		rc = f
	case errors.Is(err, os.ErrNotExist):
		rc, err = s.Artifacts.Open(ctx, local.LogKey(name))
		if err != nil {
			return 0, nil // not started yet, or no log at all
		}
	default:
		return 0, err
	}
	defer rc.Close()
	if seeker, ok := rc.(io.Seeker); ok {
		if _, err := seeker.Seek(offset, io.SeekStart); err != nil {
			return 0, err
		}
	} else if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
		return 0, nil
	}
	return io.Copy(w, rc)
}

// boolParam reads a true/false query parameter; absent is false.
func boolParam(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, badRequest("%s must be true or false, not %q", name, v)
	}
}

// jobOutput sends one output of a finished job as a tar stream.
func (s *Server) jobOutput(w http.ResponseWriter, r *http.Request) error {
	job, err := s.job(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	output := r.PathValue("output")
	if _, ok := job.Outputs[output]; !ok && output != local.DefaultOutput {
		return notFound("job %s has no output named %q; its outputs are: %s", job.Name, output, outputNames(job))
	}
	if !job.Status.Terminal() {
		return conflict("job %s is %s; its outputs can be downloaded once it ends", job.Name, job.Status)
	}
	w.Header().Set("Content-Type", "application/x-tar")
	return archive.FromStore(r.Context(), w, s.Artifacts, local.OutputPrefix(job.Name, output))
}

func outputNames(job *v1.Job) string {
	return strings.Join(append([]string{local.DefaultOutput}, sortedKeys(job.Outputs)...), ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

var (
	adjectives = []string{"amber", "bold", "brave", "calm", "clever", "crisp", "eager", "fond", "gentle", "happy",
		"jolly", "keen", "lively", "lucid", "merry", "neat", "noble", "proud", "quiet", "quick", "shy", "silly",
		"sunny", "swift", "tidy", "witty", "zen"}
	nouns = []string{"apple", "badger", "basil", "cactus", "carrot", "cherry", "comet", "coral", "falcon",
		"fig", "garden", "heron", "island", "kettle", "lemon", "lime", "maple", "melon", "otter", "pepper",
		"pillow", "plum", "river", "rocket", "tomato", "tulip", "walrus"}
)

// generateName names a job that came without one, as Azure ML does: adjective_noun_suffix.
func generateName() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	suffix := make([]byte, 8)
	for i := range suffix {
		suffix[i] = letters[randIntn(len(letters))]
	}
	return fmt.Sprintf("%s_%s_%s", adjectives[randIntn(len(adjectives))], nouns[randIntn(len(nouns))], suffix)
}

func randIntn(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}
