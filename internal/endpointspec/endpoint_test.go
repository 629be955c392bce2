package endpointspec

import (
	"strings"
	"testing"

	v1 "berth/api/v1"
	"github.com/google/go-cmp/cmp"
)

// kubernetesEndpoint is an endpoint file as Azure ML's documentation writes one for a
// Kubernetes compute.
const kubernetesEndpoint = `$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineEndpoint.schema.json
name: my-endpoint
description: Scores MNIST digits.
compute: azureml:k8s-compute
auth_mode: key
tags:
  tag1: endpoint-tag1-value
  release: 2
traffic:
  blue: 90
  green: 10
mirror_traffic:
  green: 0
`

// managedEndpoint is the managedOnlineEndpoint shape: no compute, token auth.
const managedEndpoint = `$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json
name: my-managed-endpoint
auth_mode: aml_token
`

func TestParseEndpointFull(t *testing.T) {
	want := &v1.OnlineEndpointSpec{
		Name:          "my-endpoint",
		Description:   "Scores MNIST digits.",
		Tags:          map[string]string{"tag1": "endpoint-tag1-value", "release": "2"},
		Compute:       "k8s-compute",
		AuthMode:      "key",
		Traffic:       map[string]int{"blue": 90, "green": 10},
		MirrorTraffic: map[string]int{"green": 0},
	}
	got, err := ParseEndpoint([]byte(kubernetesEndpoint), Options{})
	if err != nil {
		t.Fatalf("ParseEndpoint: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseEndpoint mismatch (-want +got):\n%s", diff)
	}
}

// endpoint is the spec of "name: my-endpoint", changed by change.
func endpoint(change func(*v1.OnlineEndpointSpec)) *v1.OnlineEndpointSpec {
	s := &v1.OnlineEndpointSpec{
		Name:     "my-endpoint",
		Compute:  "local",
		AuthMode: "key",
		Traffic:  map[string]int{},
	}
	if change != nil {
		change(s)
	}
	return s
}

var validEndpointCases = []struct {
	name string
	yaml string
	opts Options
	want *v1.OnlineEndpointSpec
}{{
	name: "a name alone gets the defaults",
	yaml: "name: my-endpoint\n",
	want: endpoint(nil),
}, {
	name: "the managedOnlineEndpoint shape",
	yaml: managedEndpoint,
	want: endpoint(func(s *v1.OnlineEndpointSpec) {
		s.Name = "my-managed-endpoint"
		s.AuthMode = "aml_token"
	}),
}, {
	name: "null fields count as absent",
	yaml: "name: my-endpoint\ndescription:\ntags:\ncompute:\nauth_mode:\ntraffic:\n" +
		"mirror_traffic:\n",
	want: endpoint(nil),
}, {
	name: "auth_mode in any case is stored in lower case",
	yaml: "name: my-endpoint\nauth_mode: AML_Token\n",
	want: endpoint(func(s *v1.OnlineEndpointSpec) { s.AuthMode = "aml_token" }),
}, {
	name: "a bare compute name, as az accepts it",
	yaml: "name: my-endpoint\ncompute: k8s-compute\n",
	want: endpoint(func(s *v1.OnlineEndpointSpec) { s.Compute = "k8s-compute" }),
}, {
	name: "traffic adding up to 0",
	yaml: "name: my-endpoint\ntraffic:\n  blue: 0\n  green: 0\n",
	want: endpoint(func(s *v1.OnlineEndpointSpec) {
		s.Traffic = map[string]int{"blue": 0, "green": 0}
	}),
}, {
	name: "mirror traffic up to 50",
	yaml: "name: my-endpoint\ntraffic:\n  blue: 100\nmirror_traffic:\n  green: 50\n",
	want: endpoint(func(s *v1.OnlineEndpointSpec) {
		s.Traffic = map[string]int{"blue": 100}
		s.MirrorTraffic = map[string]int{"green": 50}
	}),
}, {
	name: "--name overrides the file's name",
	yaml: "name: from-file\n",
	opts: Options{Name: "from-flag"},
	want: endpoint(func(s *v1.OnlineEndpointSpec) { s.Name = "from-flag" }),
}, {
	name: "--name supplies a missing name",
	yaml: "auth_mode: key\n",
	opts: Options{Name: "my-endpoint"},
	want: endpoint(nil),
}, {
	name: "--set changes the traffic",
	yaml: "name: my-endpoint\ntraffic:\n  blue: 100\n",
	opts: Options{Set: []string{"traffic.blue=90", "traffic.green=10"}},
	want: endpoint(func(s *v1.OnlineEndpointSpec) {
		s.Traffic = map[string]int{"blue": 90, "green": 10}
	}),
}}

func TestParseEndpointValid(t *testing.T) {
	for _, tt := range validEndpointCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEndpoint([]byte(tt.yaml), tt.opts)
			if err != nil {
				t.Fatalf("ParseEndpoint: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseEndpoint mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const nameRule = " use 3 to 32 letters, digits and -, starting with a letter and ending with a " +
	"letter or digit"

var endpointErrorCases = []errorCase{{
	name: "missing name",
	yaml: "auth_mode: key\n",
	want: "name: the endpoint has no name; add one, such as name: my-endpoint",
}, {
	name: "misspelt name is not also reported missing",
	yaml: "nmae: my-endpoint\n",
	want: `line 1: unknown field "nmae"; did you mean "name"?`,
}, {
	name: "name too short",
	yaml: "name: ab\n",
	want: `line 1: name: "ab" is not a valid endpoint name;` + nameRule,
}, {
	name: "name too long",
	yaml: "name: " + strings.Repeat("a", 33) + "\n",
	want: `line 1: name: "` + strings.Repeat("a", 33) + `" is not a valid endpoint name;` + nameRule,
}, {
	name: "name starting with a digit",
	yaml: "name: 1endpoint\n",
	want: `line 1: name: "1endpoint" is not a valid endpoint name;` + nameRule,
}, {
	name: "name ending with -",
	yaml: "name: my-endpoint-\n",
	want: `line 1: name: "my-endpoint-" is not a valid endpoint name;` + nameRule,
}, {
	name: "name with _",
	yaml: "name: my_endpoint\n",
	want: `line 1: name: "my_endpoint" is not a valid endpoint name;` + nameRule,
}, {
	name: "invalid --name",
	yaml: "name: my-endpoint\n",
	opts: Options{Name: "x"},
	want: `name: "x" is not a valid endpoint name;` + nameRule,
}, {
	name: "aad_token",
	yaml: "name: my-endpoint\nauth_mode: aad_token\n",
	want: "line 2: auth_mode: aad_token (Microsoft Entra ID) authentication is not supported " +
		"yet; use key or aml_token",
}, {
	name: "aad_token in another case",
	yaml: "name: my-endpoint\nauth_mode: AAD_Token\n",
	want: "line 2: auth_mode: aad_token (Microsoft Entra ID) authentication is not supported " +
		"yet; use key or aml_token",
}, {
	name: "unknown auth mode",
	yaml: "name: my-endpoint\nauth_mode: basic\n",
	want: `line 2: auth_mode: unknown auth mode "basic"; use one of: key, aml_token`,
}, {
	name: "misspelt auth mode",
	yaml: "name: my-endpoint\nauth_mode: kye\n",
	want: `line 2: auth_mode: unknown auth mode "kye"; did you mean "key"?`,
}, {
	name: "traffic that does not add up to 100",
	yaml: "name: my-endpoint\ntraffic:\n  blue: 50\n  green: 40\n",
	want: "line 3: traffic: the percentages add up to 90; make them add up to 100, or to 0 to " +
		"send no traffic",
}, {
	name: "traffic above 100",
	yaml: "name: my-endpoint\ntraffic:\n  blue: 150\n",
	want: "line 3: traffic.blue: expected a whole percentage from 0 to 100, found 150",
}, {
	name: "negative traffic is not added up",
	yaml: "name: my-endpoint\ntraffic:\n  blue: -10\n  green: 110\n",
	want: "line 3: traffic.blue: expected a whole percentage from 0 to 100, found -10\n" +
		"line 4: traffic.green: expected a whole percentage from 0 to 100, found 110",
}, {
	name: "quoted traffic",
	yaml: "name: my-endpoint\ntraffic:\n  blue: '100'\n",
	want: `line 3: traffic.blue: expected a whole percentage from 0 to 100, found "100"`,
}, {
	name: "traffic with a percent sign",
	yaml: "name: my-endpoint\ntraffic:\n  blue: 100%\n",
	want: `line 3: traffic.blue: expected a whole percentage from 0 to 100, found "100%"`,
}, {
	name: "traffic without a percentage",
	yaml: "name: my-endpoint\ntraffic:\n  blue:\n",
	want: "line 3: traffic.blue: has no percentage; give a whole percentage from 0 to 100",
}, {
	name: "traffic to an invalid deployment name",
	yaml: "name: my-endpoint\ntraffic:\n  Blue_1: 100\n",
	want: `line 3: traffic: "Blue_1" is not a valid deployment name;` + nameRule,
}, {
	name: "traffic that is a list",
	yaml: "name: my-endpoint\ntraffic: [blue]\n",
	want: "line 2: traffic: expected a mapping of deployment names to percentages, such as " +
		"blue: 100, found a list",
}, {
	name: "traffic from --set is checked without a line",
	yaml: "name: my-endpoint\n",
	opts: Options{Set: []string{"traffic.blue=90"}},
	want: "traffic: the percentages add up to 90; make them add up to 100, or to 0 to send no " +
		"traffic",
}, {
	name: "mirror traffic above 50",
	yaml: "name: my-endpoint\nmirror_traffic:\n  green: 60\n",
	want: "line 3: mirror_traffic.green: expected a whole percentage from 0 to 50, found 60",
}, {
	name: "mirror traffic to two deployments",
	yaml: "name: my-endpoint\nmirror_traffic:\n  green: 10\n  red: 10\n",
	want: "line 3: mirror_traffic: mirrors traffic to 2 deployments; mirror to at most one",
}, {
	name: "identity",
	yaml: "name: my-endpoint\nidentity:\n  type: system_assigned\n",
	want: "line 2: identity: endpoint identities are not supported yet; remove identity, and " +
		"the endpoint's deployments run with their compute's identity",
}, {
	name: "kind",
	yaml: "name: my-endpoint\nkind: k8s\n",
	want: "line 2: kind: endpoint kinds are not supported yet; remove kind, and berth serves " +
		"the endpoint in real time",
}, {
	name: "public_network_access",
	yaml: "name: my-endpoint\npublic_network_access: disabled\n",
	want: "line 2: public_network_access: public_network_access is not supported yet; remove " +
		"it, and choose how a cluster exposes its endpoints with the extension's settings " +
		"(inferenceRouterServiceType, internalLoadBalancerProvider)",
}, {
	name: "invalid compute",
	yaml: "name: my-endpoint\ncompute: azureml:my cluster\n",
	want: `line 2: compute: "azureml:my cluster" does not name a compute; use local or ` +
		`azureml:<name>, where the name has only letters, digits, _ and -`,
}, {
	name: "unknown field",
	yaml: "name: my-endpoint\nfoo: 1\n",
	want: `line 2: unknown field "foo"; valid fields are: $schema, name, description, tags, ` +
		`compute, auth_mode, traffic, mirror_traffic`,
}, {
	name: "a file that is a list",
	yaml: "- name: my-endpoint\n",
	want: "line 1: expected a mapping of endpoint fields such as name: and auth_mode:, found " +
		"a list",
}, {
	name: "two documents",
	yaml: "name: my-endpoint\n---\nname: other\n",
	want: "line 2: the file holds more than one YAML document; keep one endpoint per file, and " +
		"remove the --- line",
}, {
	name: "invalid YAML",
	yaml: "name: my-endpoint\ntraffic: {blue: 100\n",
	want: "line 2: invalid YAML: did not find expected ',' or '}'; check the indentation and " +
		"quoting on this line and the one before",
}, {
	name: "malformed --set",
	yaml: "name: my-endpoint\n",
	opts: Options{Set: []string{"traffic"}},
	want: `--set "traffic": expected path=value, such as traffic.blue=100`,
}}

func TestParseEndpointErrors(t *testing.T) {
	checkErrors(t, ParseEndpoint, endpointErrorCases)
}
