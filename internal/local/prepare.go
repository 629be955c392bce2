package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/archive"
	"berth/internal/jobrun"
	"berth/internal/jobspec"
)

// Limits of what one local job can be.
const (
	// MaxProcesses bounds the processes of one distributed job on one machine.
	MaxProcesses = 64
	// MaxCommandBytes is the longest command Linux accepts as one argument (MAX_ARG_STRLEN).
	MaxCommandBytes = 128 << 10
)

// CheckJob refuses a job the local compute cannot run, before it is stored.
func CheckJob(spec *v1.JobSpec) error {
	if n := spec.Distribution.Processes(); n > MaxProcesses {
		return fmt.Errorf("distribution: the job asks for %d processes, but the local compute runs at most %d per job; lower it, or run on a Kubernetes compute", n, MaxProcesses)
	}
	if n := len(spec.Command); n >= MaxCommandBytes {
		return fmt.Errorf("command: the command is %d bytes, longer than a process accepts (%d); put it in a script in the code folder and run that", n, MaxCommandBytes)
	}
	return nil
}

// prepare lays out the job's folder (code snapshot, inputs, empty outputs) and returns what
// the runtime is to run. It starts from an empty folder, so preparing again after a restart
// is safe.
func (e *Executor) prepare(ctx context.Context, job *v1.Job, dir string) (*jobrun.RunSpec, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	wd := filepath.Join(dir, jobrun.WorkDir)
	if err := os.MkdirAll(filepath.Join(wd, "outputs"), 0o755); err != nil {
		return nil, err
	}
	if job.Code != "" {
		if err := archive.UnpackFromStore(ctx, e.artifacts, UploadKey(job.Name, "code"), wd); err != nil {
			return nil, fmt.Errorf("unpacking the code snapshot: %w", err)
		}
	}
	values := map[string]string{}
	for name, in := range job.Inputs {
		v, ok, err := e.prepareInput(ctx, job.Name, name, in, filepath.Join(dir, "inputs", name))
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", name, err)
		}
		if ok {
			values["inputs."+name] = v
		}
	}
	for name, out := range job.Outputs {
		folder := filepath.Join(dir, "outputs", name)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return nil, err
		}
		values["outputs."+name] = folder
		if out.Type == v1.InputURIFile {
			values["outputs."+name] = filepath.Join(folder, name)
		}
	}
	command, err := jobspec.RenderCommand(job.Command, values)
	if err != nil {
		return nil, err
	}
	ranks, err := rankEnvironments(job.Distribution)
	if err != nil {
		return nil, err
	}
	spec := &jobrun.RunSpec{
		Job:          job.Name,
		Command:      command,
		WorkDir:      wd,
		Env:          e.environment(job),
		Ranks:        ranks,
		GraceSeconds: int(e.cfg.Grace.Seconds()),
		Notices:      e.notices(job),
	}
	if job.Limits != nil {
		spec.TimeoutSeconds = job.Limits.Timeout
	}
	return spec, nil
}

// prepareInput puts an input in folder and returns the value its expressions take, and
// whether it has one.
func (e *Executor) prepareInput(ctx context.Context, job, name string, in v1.JobInput, folder string) (string, bool, error) {
	if in.IsLiteral() {
		return in.Value, in.Present(), nil
	}
	if in.Path == "" {
		return "", false, nil
	}
	switch {
	case jobspec.IsLocalPath(in.Path):
		if err := archive.UnpackFromStore(ctx, e.artifacts, UploadKey(job, "inputs."+name), folder); err != nil {
			return "", false, err
		}
	case strings.HasPrefix(in.Path, "http://") || strings.HasPrefix(in.Path, "https://"):
		if err := e.fetch(ctx, in.Path, folder); err != nil {
			return "", false, err
		}
	case strings.HasPrefix(in.Path, "azureml://jobs/"):
		src, out, ok := ParseJobOutputRef(in.Path)
		if !ok {
			return "", false, fmt.Errorf("%s is not of the form azureml://jobs/<job>/outputs/<output>", in.Path)
		}
		if err := archive.CopyFromStore(ctx, e.artifacts, OutputPrefix(src, out), folder); err != nil {
			return "", false, err
		}
	default:
		return "", false, fmt.Errorf("path %s cannot be fetched by the local compute", in.Path)
	}
	if in.Type == v1.InputURIFolder {
		return folder, true, nil
	}
	entries, err := os.ReadDir(folder)
	if err != nil {
		return "", false, err
	}
	if len(entries) != 1 || entries[0].IsDir() {
		return "", false, fmt.Errorf("a uri_file input must be one file, but %s holds %d entries; use type uri_folder", in.Path, len(entries))
	}
	return filepath.Join(folder, entries[0].Name()), true, nil
}

// ParseJobOutputRef splits azureml://jobs/<job>/outputs/<output>.
func ParseJobOutputRef(ref string) (job, output string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(ref, "azureml://jobs/"), "/")
	if len(parts) != 3 || parts[1] != "outputs" || parts[0] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[0], parts[2], true
}

// fetch downloads an http(s) file input into folder, named after the URL's last segment.
func (e *Executor) fetch(ctx context.Context, rawURL, folder string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = "input"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	resp, err := e.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: the server answered %s", rawURL, resp.Status)
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(folder, name))
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	return nil
}

// environment is what every process of the job gets on top of the server's environment.
//
// TODO(local): jobs get no job token yet (DESIGN's job-scoped credential); they only never
// see the admin token. A job cannot call the workspace API until it has one.
func (e *Executor) environment(job *v1.Job) []string {
	env := []string{
		"PATH=" + e.cfg.BinDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PYTHONUNBUFFERED=1",
		"BERTH_JOB_NAME=" + job.Name,
		"AZUREML_RUN_ID=" + job.Name,
		"AZUREML_EXPERIMENT_NAME=" + job.ExperimentName,
	}
	for k, v := range job.EnvironmentVariables {
		env = append(env, k+"="+v)
	}
	return env
}

// notices say what the local compute records but does not use.
func (e *Executor) notices(job *v1.Job) []string {
	var n []string
	env := job.Environment
	switch {
	case env == nil:
	case env.CondaFile != "":
		n = append(n, fmt.Sprintf("environment.conda_file is recorded but not used on the local compute; the job runs with %s and the packages installed for it", e.cfg.Python))
	case env.Image != "":
		n = append(n, fmt.Sprintf("environment.image %s is recorded but not used on the local compute; the job runs with %s", env.Image, e.cfg.Python))
	case env.Ref != "":
		n = append(n, fmt.Sprintf("environment %s is recorded but not used on the local compute; the job runs with %s", env.Ref, e.cfg.Python))
	}
	return n
}

// rankEnvironments gives each process of a distributed job the variables its framework
// reads to find the others, as the Kubernetes operator does for pods.
func rankEnvironments(d *v1.Distribution) ([][]string, error) {
	if d == nil {
		return nil, nil
	}
	n := d.Processes()
	ranks := make([][]string, n)
	switch d.Type {
	case v1.DistributionPyTorch:
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		for i := range ranks {
			ranks[i] = []string{"MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + strconv.Itoa(port),
				"WORLD_SIZE=" + strconv.Itoa(n), "RANK=" + strconv.Itoa(i), "LOCAL_RANK=" + strconv.Itoa(i),
				"NODE_RANK=0", "LOCAL_WORLD_SIZE=" + strconv.Itoa(n)}
		}
	case v1.DistributionMPI:
		for i := range ranks {
			ranks[i] = []string{"OMPI_COMM_WORLD_RANK=" + strconv.Itoa(i), "OMPI_COMM_WORLD_SIZE=" + strconv.Itoa(n),
				"OMPI_COMM_WORLD_LOCAL_RANK=" + strconv.Itoa(i), "OMPI_COMM_WORLD_LOCAL_SIZE=" + strconv.Itoa(n),
				"OMPI_COMM_WORLD_NODE_RANK=0", "PMI_RANK=" + strconv.Itoa(i), "PMI_SIZE=" + strconv.Itoa(n)}
		}
	case v1.DistributionTensorFlow:
		cluster := map[string][]string{}
		tasks := make([][2]any, 0, n)
		for _, role := range []struct {
			name  string
			count int
		}{{"worker", max(d.WorkerCount, 1)}, {"ps", d.ParameterServerCount}} {
			for i := 0; i < role.count; i++ {
				port, err := freePort()
				if err != nil {
					return nil, err
				}
				cluster[role.name] = append(cluster[role.name], "127.0.0.1:"+strconv.Itoa(port))
				tasks = append(tasks, [2]any{role.name, i})
			}
		}
		for i, t := range tasks {
			cfg, _ := json.Marshal(map[string]any{"cluster": cluster,
				"task": map[string]any{"type": t[0], "index": t[1]}})
			ranks[i] = []string{"TF_CONFIG=" + string(cfg)}
		}
	default:
		return nil, fmt.Errorf("distribution type %q is not supported", d.Type)
	}
	return ranks, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
