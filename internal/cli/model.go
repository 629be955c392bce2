package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	v1 "berth/api/v1"
	"berth/internal/client"
	"berth/internal/endpointspec"
	"berth/internal/jobspec"
)

func newModelCmd(g *globalOptions) *cobra.Command {
	cmd := groupCmd("model", "Register, list and download models")
	cmd.AddCommand(newModelCreateCmd(g), newModelShowCmd(g), newModelListCmd(g), newModelDownloadCmd(g))
	return cmd
}

type modelCreateOptions struct {
	file, name, version, path, modelType, description string
	set                                               []string
}

func newModelCreateCmd(g *globalOptions) *cobra.Command {
	o := &modelCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Register a model version from a local file or folder, or from a job's output",
		Example: `  berth model create --name iris --path azureml://jobs/<job>/outputs/model
  berth model create --name iris --version 2 --path ./model
  berth model create -f model.yml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd.Context(), g) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "a model YAML file (name, version, path, type, description, tags)")
	f.StringVarP(&o.name, "name", "n", "", "name of the model")
	f.StringVarP(&o.version, "version", "v", "", "version (default: one more than the highest)")
	f.StringVarP(&o.path, "path", "p", "", "a local file or folder, or azureml://jobs/<job>/outputs/<output>")
	f.StringVar(&o.modelType, "type", "", "custom_model (default) or mlflow_model")
	f.StringVarP(&o.description, "description", "d", "", "description")
	f.StringArrayVar(&o.set, "set", nil, "set a field: path=value; several may follow one --set")
	return cmd
}

func (o *modelCreateOptions) run(ctx context.Context, g *globalOptions) error {
	src, err := readSpec(o.file)
	if err != nil {
		return err
	}
	set := append([]string(nil), o.set...)
	for _, f := range []struct{ field, value string }{{"version", o.version}, {"path", o.path},
		{"type", o.modelType}, {"description", o.description}} {
		if f.value != "" {
			set = append(set, setFlag(f.field, f.value))
		}
	}
	spec, err := endpointspec.ParseModel([]byte(src.yaml), endpointspec.Options{Name: o.name, Set: set})
	if err != nil {
		return usageErrorf("the model is not valid:\n%v", err)
	}
	var uploads []client.Upload
	if jobspec.IsLocalPath(spec.Path) {
		l, err := findLocal("model", trimFileScheme(spec.Path), src.base, "model")
		if err != nil {
			return err
		}
		up, err := l.upload(true)
		if err != nil {
			return err
		}
		uploads = append(uploads, up)
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	progress, done := uploadProgress(g, uploads)
	m, err := c.CreateModel(ctx, v1.SpecRequest{YAML: src.yaml, Name: o.name, Set: set}, uploads, progress)
	done()
	if err != nil {
		return err
	}
	return g.printResult(g.streams.Out, m, func() table { return modelTable([]v1.Model{*m}) })
}

func trimFileScheme(p string) string {
	for _, prefix := range []string{"file://", "file:"} {
		if len(p) > len(prefix) && p[:len(prefix)] == prefix {
			return p[len(prefix):]
		}
	}
	return p
}

func modelTable(models []v1.Model) table {
	t := table{headers: []string{"Name", "Version", "Type", "Path", "Created"}}
	for _, m := range models {
		t.rows = append(t.rows, []string{m.Name, m.Version, m.Type, m.Path, m.CreationContext.CreatedAt.Local().Format("2006-01-02 15:04:05")})
	}
	return t
}

// modelVersionFlags are the flags that name one model version.
type modelVersionFlags struct {
	name, version, label string
}

func (m *modelVersionFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&m.name, "name", "n", "", "name of the model")
	cmd.Flags().StringVarP(&m.version, "version", "v", "", "version of the model")
	cmd.Flags().StringVarP(&m.label, "label", "l", "", "label of the version: latest")
}

// resolve returns the version to ask for; "" is the latest.
func (m *modelVersionFlags) resolve() (string, error) {
	switch {
	case m.name == "":
		return "", usageErrorf("--name/-n is required: the model's name (see berth model list)")
	case m.version != "" && m.label != "":
		return "", usageErrorf("--version and --label exclude each other; give one")
	case m.label != "" && m.label != "latest":
		return "", usageErrorf("--label %q is not a label; the only label is latest", m.label)
	case m.version == "" && m.label == "":
		return "", usageErrorf("--version/-v or --label latest is required: which version of model %s", m.name)
	}
	return m.version, nil
}

func newModelShowCmd(g *globalOptions) *cobra.Command {
	var mv modelVersionFlags
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a model version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := mv.resolve()
			if err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			m, err := c.GetModel(cmd.Context(), mv.name, version)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, m, func() table { return modelTable([]v1.Model{*m}) })
		},
	}
	mv.add(cmd)
	return cmd
}

func newModelListCmd(g *globalOptions) *cobra.Command {
	var name string
	var lim listLimit
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List model versions, newest first",
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
			models, err := c.ListModels(cmd.Context(), name, maxResults)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, models, func() table { return modelTable(models) })
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "list only the versions of this model")
	lim.add(cmd, "versions")
	return cmd
}

func newModelDownloadCmd(g *globalOptions) *cobra.Command {
	var mv modelVersionFlags
	var path string
	cmd := &cobra.Command{
		Use:   "download",
		Short: "Download a model version's files into <download-path>/<name>",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := mv.resolve()
			if err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			m, err := c.GetModel(cmd.Context(), mv.name, version)
			if err != nil {
				return err
			}
			dir := filepath.Join(path, m.Name)
			if err := c.DownloadModel(cmd.Context(), m.Name, m.Version, dir); err != nil {
				return err
			}
			fmt.Fprintf(g.streams.Err, "Downloaded model %s version %s to %s\n", m.Name, m.Version, dir)
			return nil
		},
	}
	mv.add(cmd)
	cmd.Flags().StringVarP(&path, "download-path", "p", ".", "folder to download into")
	return cmd
}
