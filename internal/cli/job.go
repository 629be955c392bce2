package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	v1 "berth/api/v1"
	"berth/internal/archive"
	"berth/internal/client"
	"berth/internal/jobspec"
)

func newJobCmd(g *globalOptions) *cobra.Command {
	cmd := groupCmd("job", "Submit, follow and manage jobs")
	cmd.AddCommand(newJobCreateCmd(g), newJobShowCmd(g), newJobListCmd(g), newJobStreamCmd(g),
		newJobCancelCmd(g), newJobDownloadCmd(g))
	return cmd
}

type jobCreateOptions struct {
	file   string
	name   string
	set    []string
	stream bool
}

func newJobCreateCmd(g *globalOptions) *cobra.Command {
	o := &jobCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Submit a job from a YAML file",
		Example: `  berth job create -f examples/sklearn-iris/job.yml --stream
  berth job create -f job.yml --name my-run --set inputs.epochs=5 limits.timeout=600`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("name") && o.name == "" {
				return usageErrorf("--name is empty; give a name, or leave the flag out to use the file's name or a generated one")
			}
			return o.run(cmd.Context(), g)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "the job's YAML file (required)")
	f.StringVarP(&o.name, "name", "n", "", "name of the job, instead of the file's name or a generated one")
	f.StringArrayVar(&o.set, "set", nil, "set a field of the file: path=value; several may follow one --set")
	f.BoolVarP(&o.stream, "stream", "s", false, "follow the job's logs until it ends")
	return cmd
}

func (o *jobCreateOptions) run(ctx context.Context, g *globalOptions) error {
	if o.file == "" {
		return usageErrorf("--file/-f is required: the job's YAML file")
	}
	if o.stream && (g.output != formatJSON || g.query != "") {
		return usageErrorf("--stream prints the job's log; -o and --query do not apply to it")
	}
	data, err := os.ReadFile(o.file)
	if err != nil {
		return usageErrorf("cannot read job file: %v", err)
	}
	// The file is checked here, with the server's own parser, before anything is uploaded.
	spec, err := jobspec.Parse(data, jobspec.Options{Name: o.name, Set: o.set})
	if err != nil {
		return usageErrorf("%s is not a valid job:\n%v", o.file, err)
	}
	uploads, err := collectUploads(spec, filepath.Dir(o.file))
	if err != nil {
		return err
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	progress, done := uploadProgress(g, uploads)
	job, err := c.CreateJob(ctx, v1.SpecRequest{YAML: string(data), Name: o.name, Set: o.set}, uploads, progress)
	done()
	if err != nil {
		return err
	}
	if o.stream {
		return streamJob(ctx, g, c, job.Name)
	}
	return g.printResult(g.streams.Out, job, func() table { return jobTable([]v1.Job{*job}) })
}

// collectUploads lists the files of each local path the job names, relative to the job
// file's folder.
func collectUploads(spec *v1.JobSpec, base string) ([]client.Upload, error) {
	var uploads []client.Upload
	for _, lp := range jobspec.LocalPaths(spec) {
		l, err := findLocal(lp.Part, lp.Path, base, "job")
		if err != nil {
			return nil, err
		}
		if in, ok := spec.Inputs[strings.TrimPrefix(lp.Part, "inputs.")]; ok && lp.Part != "code" {
			switch {
			case in.Type == v1.InputURIFolder && !l.info.IsDir():
				return nil, usageErrorf("%s: %s is a file, but the input's type is uri_folder; use type: uri_file", lp.Part, lp.Path)
			case in.Type == v1.InputURIFile && l.info.IsDir():
				return nil, usageErrorf("%s: %s is a folder, but the input's type is uri_file; use type: uri_folder", lp.Part, lp.Path)
			}
		}
		up, err := l.upload(false)
		if err != nil {
			return nil, err
		}
		uploads = append(uploads, up)
	}
	return uploads, nil
}

// uploadProgress shows a progress bar on a terminal while the job's files upload.
func uploadProgress(g *globalOptions, uploads []client.Upload) (func(int64), func()) {
	var total int64
	for _, u := range uploads {
		total += archive.TotalSize(u.Files)
	}
	f, isFile := g.streams.Err.(*os.File)
	if total == 0 || !isFile || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(f), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription("Uploading"), progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond))
	return func(n int64) { bar.Add64(n) }, func() { bar.Finish() }
}

// streamJob follows a job's log until it ends, then prints its summary. Ctrl-C stops
// following and leaves the job running. A job that did not complete is exit code 1.
func streamJob(ctx context.Context, g *globalOptions, c *client.Client, name string) error {
	out := g.streams.Out
	fmt.Fprintf(out, "RunId: %s\n\nStreaming the log of job %s (Ctrl-C stops following; the job keeps running)\n\n", name, name)
	err := c.StreamLogs(ctx, name, true, out)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(g.streams.Err, "\nStopped following job %s; it keeps running. Follow it again with: berth job stream -n %s\n", name, name)
		return &exitError{code: ExitInterrupted, err: errors.New("")}
	}
	if err != nil {
		return err
	}
	job, err := c.GetJob(ctx, name)
	if err != nil {
		return err
	}
	if !job.Status.Terminal() {
		return fmt.Errorf("the server ended the log stream while job %s is %s (was it stopped?); follow it again with: berth job stream -n %s", name, job.Status, name)
	}
	fmt.Fprintf(out, "\nExecution Summary\n=================\nRunId: %s\nStatus: %s\n", job.Name, job.Status)
	if job.Error != nil {
		fmt.Fprintf(out, "Error: %s\n", job.Error.Message)
	}
	if job.Status != v1.JobCompleted {
		return errSilentFailure
	}
	return nil
}

func jobTable(jobs []v1.Job) table {
	t := table{headers: []string{"Name", "Display name", "Status", "Compute", "Experiment", "Created"}}
	for _, j := range jobs {
		display := j.DisplayName
		if display == "" {
			display = j.Name // as az ml shows a job without one
		}
		t.rows = append(t.rows, []string{j.Name, display, string(j.Status), j.Compute, j.ExperimentName,
			j.CreationContext.CreatedAt.Local().Format("2006-01-02 15:04:05")})
	}
	return t
}

// listLimit is the --max-results and --all-results flags of a list command.
type listLimit struct {
	maxResults int
	all        bool
}

func (l *listLimit) add(cmd *cobra.Command, what string) {
	cmd.Flags().IntVarP(&l.maxResults, "max-results", "r", 50, "the most "+what+" to list")
	cmd.Flags().BoolVar(&l.all, "all-results", false, "list every one of the "+what)
}

// max is how many items to list; 0 means all.
func (l *listLimit) max(cmd *cobra.Command) (int, error) {
	switch {
	case l.maxResults < 1:
		return 0, usageErrorf("--max-results must be at least 1, not %d", l.maxResults)
	case l.all && cmd.Flags().Changed("max-results"):
		return 0, usageErrorf("--max-results and --all-results exclude each other; give one")
	case l.all:
		return 0, nil
	}
	return l.maxResults, nil
}

// requireName checks the --name/-n flag of commands on an existing job.
func requireName(name string) error {
	if name == "" {
		return usageErrorf("--name/-n is required: the job's name (see berth job list)")
	}
	return nil
}

// newJobActionCmd builds a command that does one thing to a named job and prints the job.
func newJobActionCmd(g *globalOptions, use, short string, act func(*client.Client, context.Context, string) (*v1.Job, error)) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireName(name); err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			job, err := act(c, cmd.Context(), name)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, job, func() table { return jobTable([]v1.Job{*job}) })
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the job")
	return cmd
}

func newJobShowCmd(g *globalOptions) *cobra.Command {
	return newJobActionCmd(g, "show", "Show a job", (*client.Client).GetJob)
}

func newJobCancelCmd(g *globalOptions) *cobra.Command {
	return newJobActionCmd(g, "cancel", "Cancel a job: SIGTERM to its processes, SIGKILL after the grace period",
		(*client.Client).CancelJob)
}

func newJobListCmd(g *globalOptions) *cobra.Command {
	var lim listLimit
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			maxResults, err := lim.max(cmd)
			if err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			jobs, err := c.ListJobs(cmd.Context(), maxResults)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, jobs, func() table { return jobTable(jobs) })
		},
	}
	lim.add(cmd, "jobs")
	return cmd
}

func newJobStreamCmd(g *globalOptions) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Follow a job's log until it ends; exits non-zero if the job did not complete",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireName(name); err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := c.GetJob(cmd.Context(), name); err != nil {
				return err
			}
			return streamJob(cmd.Context(), g, c, name)
		},
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return g.textOnly(cmd)
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the job")
	return cmd
}

type jobDownloadOptions struct {
	name       string
	outputName string
	path       string
	all        bool
}

func newJobDownloadCmd(g *globalOptions) *cobra.Command {
	o := &jobDownloadOptions{}
	cmd := &cobra.Command{
		Use:   "download",
		Short: "Download a finished job's outputs",
		Long: `Download a finished job's outputs. The default output (the job's ./outputs folder) goes
to <download-path>/artifacts/outputs, a named output to <download-path>/named-outputs/<name>.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.name, "name", "n", "", "name of the job")
	f.StringVar(&o.outputName, "output-name", "", "the output to download (default: the default output)")
	f.StringVarP(&o.path, "download-path", "p", ".", "folder to download into")
	f.BoolVar(&o.all, "all", false, "download the default output and every named output")
	return cmd
}

func (o *jobDownloadOptions) run(ctx context.Context, g *globalOptions) error {
	if err := requireName(o.name); err != nil {
		return err
	}
	if o.all && o.outputName != "" {
		return usageErrorf("--all and --output-name exclude each other; give one")
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	job, err := c.GetJob(ctx, o.name)
	if err != nil {
		return err
	}
	outputs := []string{o.outputName}
	switch {
	case o.all:
		outputs = append([]string{"default"}, slices.Sorted(maps.Keys(job.Outputs))...)
	case o.outputName == "":
		outputs = []string{"default"}
	}
	for _, out := range outputs {
		dir := filepath.Join(o.path, "named-outputs", out)
		if out == "default" {
			dir = filepath.Join(o.path, "artifacts", "outputs")
		}
		if err := c.DownloadOutput(ctx, o.name, out, dir); err != nil {
			return err
		}
		fmt.Fprintf(g.streams.Err, "Downloaded output %s of job %s to %s\n", out, o.name, dir)
	}
	return nil
}
