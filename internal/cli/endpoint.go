package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	v1 "berth/api/v1"
	"berth/internal/client"
	"berth/internal/endpointspec"
)

func newEndpointCmd(g *globalOptions) *cobra.Command {
	cmd := groupCmd("online-endpoint", "Create, route, call and delete online endpoints")
	cmd.AddCommand(newEndpointCreateCmd(g), newEndpointShowCmd(g), newEndpointListCmd(g), newEndpointUpdateCmd(g),
		newEndpointDeleteCmd(g), newEndpointInvokeCmd(g), newEndpointCredentialsCmd(g), newEndpointRegenerateCmd(g))
	return cmd
}

func endpointTable(eps []v1.OnlineEndpoint) table {
	t := table{headers: []string{"Name", "Auth mode", "State", "Traffic", "Scoring URI"}}
	for _, e := range eps {
		var traffic []string
		for _, n := range slices.Sorted(mapKeys(e.Traffic)) {
			traffic = append(traffic, fmt.Sprintf("%s=%d", n, e.Traffic[n]))
		}
		t.rows = append(t.rows, []string{e.Name, e.AuthMode, e.ProvisioningState, strings.Join(traffic, " "), e.ScoringURI})
	}
	return t
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func requireEndpoint(name string) error {
	if name == "" {
		return usageErrorf("--name/-n is required: the endpoint's name (see berth online-endpoint list)")
	}
	return nil
}

type endpointCreateOptions struct {
	file, name, authMode string
	set                  []string
}

func newEndpointCreateCmd(g *globalOptions) *cobra.Command {
	o := &endpointCreateOptions{}
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create an online endpoint",
		Example: "  berth online-endpoint create -f endpoint.yml\n  berth online-endpoint create -n my-endpoint --auth-mode aml_token",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := readSpec(o.file)
			if err != nil {
				return err
			}
			set := append([]string(nil), o.set...)
			if o.authMode != "" {
				set = append(set, setFlag("auth_mode", o.authMode))
			}
			if _, err := endpointspec.ParseEndpoint([]byte(src.yaml), endpointspec.Options{Name: o.name, Set: set}); err != nil {
				return usageErrorf("the endpoint is not valid:\n%v", err)
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			e, err := c.CreateEndpoint(cmd.Context(), v1.SpecRequest{YAML: src.yaml, Name: o.name, Set: set})
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, e, func() table { return endpointTable([]v1.OnlineEndpoint{*e}) })
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "a kubernetesOnlineEndpoint YAML file")
	f.StringVarP(&o.name, "name", "n", "", "name of the endpoint, instead of the file's")
	f.StringVar(&o.authMode, "auth-mode", "", "key (default) or aml_token")
	f.StringArrayVar(&o.set, "set", nil, "set a field: path=value; several may follow one --set")
	return cmd
}

func newEndpointShowCmd(g *globalOptions) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show an online endpoint",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireEndpoint(name); err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			e, err := c.GetEndpoint(cmd.Context(), name)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, e, func() table { return endpointTable([]v1.OnlineEndpoint{*e}) })
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the endpoint")
	return cmd
}

func newEndpointListCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List online endpoints",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			eps, err := c.ListEndpoints(cmd.Context())
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, eps, func() table { return endpointTable(eps) })
		},
	}
}

type endpointUpdateOptions struct {
	file, name, authMode string
	traffic, mirror      []string
	set                  []string
	changed              map[string]bool // flags given, even empty
}

func newEndpointUpdateCmd(g *globalOptions) *cobra.Command {
	o := &endpointUpdateOptions{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Change an online endpoint: its traffic, mirror traffic, auth mode, description or tags",
		Example: `  berth online-endpoint update -n my-endpoint --traffic "blue=90 green=10"
  berth online-endpoint update -n my-endpoint --mirror-traffic "green=10"
  berth online-endpoint update -f endpoint.yml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.changed = map[string]bool{"--traffic": cmd.Flags().Changed("traffic"), "--mirror-traffic": cmd.Flags().Changed("mirror-traffic")}
			return o.run(cmd.Context(), g)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "a kubernetesOnlineEndpoint YAML file with the new spec")
	f.StringVarP(&o.name, "name", "n", "", "name of the endpoint")
	f.StringArrayVarP(&o.traffic, "traffic", "t", nil, `traffic weights, such as "blue=90 green=10" (they replace the current ones)`)
	f.StringArrayVar(&o.mirror, "mirror-traffic", nil, `mirror traffic, such as "green=10"; empty ("") stops mirroring`)
	f.StringVar(&o.authMode, "auth-mode", "", "key or aml_token")
	f.StringArrayVar(&o.set, "set", nil, "set a field: path=value; several may follow one --set")
	return cmd
}

func (o *endpointUpdateOptions) run(ctx context.Context, g *globalOptions) error {
	if o.name == "" && o.file == "" {
		return usageErrorf("--name/-n is required: the endpoint to update")
	}
	// The flags are checked before anything is asked of the server.
	weights := map[string]map[string]int{}
	clear := false
	for _, f := range []struct {
		flag, field string
		values      []string
	}{{"--traffic", "traffic", o.traffic}, {"--mirror-traffic", "mirror_traffic", o.mirror}} {
		if !o.changed[f.flag] {
			continue
		}
		for _, s := range o.set {
			if strings.HasPrefix(s, f.field+".") || strings.HasPrefix(s, f.field+"=") {
				return usageErrorf("give %s or --set %s, not both", f.flag, f.field)
			}
		}
		value := strings.Join(f.values, " ")
		if strings.TrimSpace(value) == "" && f.flag == "--mirror-traffic" {
			clear = true // an empty --mirror-traffic stops mirroring
			continue
		}
		w, err := parseWeights(f.flag, value)
		if err != nil {
			return err
		}
		total := 0
		for _, n := range w {
			total += n
		}
		if f.flag == "--traffic" && total != 0 && total != 100 {
			return usageErrorf("--traffic %q: the percentages add up to %d; make them add up to 100, or to 0 to send no traffic", value, total)
		}
		weights[f.field] = w
	}

	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	var spec map[string]any
	if o.file != "" {
		src, err := readSpec(o.file)
		if err != nil {
			return err
		}
		parsed, err := endpointspec.ParseEndpoint([]byte(src.yaml), endpointspec.Options{})
		if err != nil {
			return usageErrorf("the endpoint is not valid:\n%v", err)
		}
		if o.name != "" && o.name != parsed.Name {
			return usageErrorf("--name %s and the file's name %s differ; an endpoint cannot be renamed", o.name, parsed.Name)
		}
		o.name = parsed.Name
		if err := roundTrip(parsed, &spec); err != nil {
			return err
		}
	} else {
		cur, err := c.GetEndpoint(ctx, o.name)
		if err != nil {
			return err
		}
		if err := roundTrip(cur.OnlineEndpointSpec, &spec); err != nil {
			return err
		}
	}
	for field, w := range weights {
		spec[field] = w
	}
	if clear {
		delete(spec, "mirror_traffic")
	}
	if o.authMode != "" {
		spec["auth_mode"] = o.authMode
	}
	text, err := toYAML(spec)
	if err != nil {
		return err
	}
	e, err := c.UpdateEndpoint(ctx, o.name, v1.SpecRequest{YAML: text, Set: o.set})
	if err != nil {
		return err
	}
	return g.printResult(g.streams.Out, e, func() table { return endpointTable([]v1.OnlineEndpoint{*e}) })
}

// roundTrip copies a spec into a generic map through its JSON form, whose field names are the
// YAML file's.
func roundTrip(v any, out *map[string]any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// parseWeights reads "blue=90 green=10" (spaces or commas between entries).
func parseWeights(flag, s string) (map[string]int, error) {
	weights := map[string]int{}
	entries := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	if len(entries) == 0 {
		return nil, usageErrorf("%s is empty; give deployment=percentage entries such as \"blue=90 green=10\"", flag)
	}
	for _, entry := range entries {
		name, value, ok := strings.Cut(entry, "=")
		n, err := strconv.Atoi(value)
		if !ok || name == "" || err != nil {
			return nil, usageErrorf("%s %q: expected deployment=percentage entries such as \"blue=90 green=10\", not %q", flag, s, entry)
		}
		if _, twice := weights[name]; twice {
			return nil, usageErrorf("%s %q names %s twice; give each deployment once", flag, s, name)
		}
		weights[name] = n
	}
	return weights, nil
}

func newEndpointDeleteCmd(g *globalOptions) *cobra.Command {
	var name string
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete an online endpoint and its deployments",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireEndpoint(name); err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			if err := c.DeleteEndpoint(cmd.Context(), name); err != nil {
				return err
			}
			fmt.Fprintf(g.streams.Err, "Deleted endpoint %s and its deployments\n", name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the endpoint")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (accepted for az compatibility; berth does not ask)")
	return cmd
}

func newEndpointCredentialsCmd(g *globalOptions) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "get-credentials",
		Short: "Print an endpoint's keys, or a new token for an aml_token endpoint",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireEndpoint(name); err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			raw, err := c.Credentials(cmd.Context(), name)
			if err != nil {
				return err
			}
			return g.printResult(g.streams.Out, raw, nil)
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the endpoint")
	return cmd
}

func newEndpointRegenerateCmd(g *globalOptions) *cobra.Command {
	var name, keyType string
	cmd := &cobra.Command{
		Use:   "regenerate-keys",
		Short: "Replace an endpoint's primary or secondary key; the old one stops working at once",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireEndpoint(name); err != nil {
				return err
			}
			if keyType != "primary" && keyType != "secondary" {
				return usageErrorf("--key-type %q is not a key; use primary or secondary", keyType)
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			if err := c.RegenerateKey(cmd.Context(), name, keyType); err != nil {
				return err
			}
			fmt.Fprintf(g.streams.Err, "Regenerated the %s key of endpoint %s\n", keyType, name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the endpoint")
	cmd.Flags().StringVar(&keyType, "key-type", "primary", "primary or secondary")
	return cmd
}

type invokeOptions struct {
	name, requestFile, deployment string
}

func newEndpointInvokeCmd(g *globalOptions) *cobra.Command {
	o := &invokeOptions{}
	cmd := &cobra.Command{
		Use:   "invoke",
		Short: "Score a request file against an endpoint and print the answer",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return o.run(cmd.Context(), g) },
	}
	cmd.Flags().StringVarP(&o.name, "name", "n", "", "name of the endpoint")
	cmd.Flags().StringVarP(&o.requestFile, "request-file", "r", "", "the request body (required)")
	cmd.Flags().StringVarP(&o.deployment, "deployment-name", "d", "", "send to this deployment, whatever the traffic weights")
	return cmd
}

func (o *invokeOptions) run(ctx context.Context, g *globalOptions) error {
	if err := requireEndpoint(o.name); err != nil {
		return err
	}
	if o.requestFile == "" {
		return usageErrorf("--request-file/-r is required: the file whose content is scored")
	}
	body, err := os.ReadFile(o.requestFile)
	if err != nil {
		return usageErrorf("cannot read request file: %v", err)
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	e, err := c.GetEndpoint(ctx, o.name)
	if err != nil {
		return err
	}
	raw, err := c.Credentials(ctx, o.name)
	if err != nil {
		return err
	}
	var cred struct {
		PrimaryKey  string `json:"primaryKey"`
		AccessToken string `json:"accessToken"`
	}
	json.Unmarshal(raw, &cred)
	secret := cred.PrimaryKey
	if secret == "" {
		secret = cred.AccessToken
	}
	return scoreRequest(ctx, g, e.ScoringURI, secret, o.deployment, body)
}

// scoreRequest posts body to a scoring URI and prints the answer.
func scoreRequest(ctx context.Context, g *globalOptions, uri, secret, deployment string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	if deployment != "" {
		req.Header.Set("azureml-model-deployment", deployment)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")) {
		return fmt.Errorf("the router closed the connection while the request (%d bytes) was being sent; it may be larger than the server's --scoring-max-body-bytes: %v", len(body), err)
	}
	if err != nil {
		return &client.ConnError{URL: uri, Err: err}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e v1.Error
		msg := strings.TrimSpace(string(answer))
		if json.Unmarshal(answer, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		return fmt.Errorf("scoring answered %s: %s", resp.Status, msg)
	}
	// A JSON answer is printed like any other command's, so -o and --query apply; anything
	// else is printed as it came.
	var parsed any
	if json.Unmarshal(answer, &parsed) == nil {
		return g.printResult(g.streams.Out, parsed, nil)
	}
	if g.output != formatJSON || g.query != "" {
		return fmt.Errorf("the answer is not JSON (%s), so -o and --query do not apply to it", resp.Header.Get("Content-Type"))
	}
	g.streams.Out.Write(answer)
	if len(answer) > 0 && answer[len(answer)-1] != '\n' {
		fmt.Fprintln(g.streams.Out)
	}
	return nil
}
