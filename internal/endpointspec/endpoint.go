package endpointspec

import (
	v1 "berth/api/v1"
	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

var endpointFormat = strictyaml.Format{
	Noun:          "endpoint",
	FieldsExample: "name: and auth_mode:",
	SetExample:    "traffic.blue=100",
}

var endpointSchema = strictyaml.Schema{
	Fields: []string{
		"$schema", "name", "description", "tags", "compute", "auth_mode", "traffic",
		"mirror_traffic",
	},
	Unsupported: map[string]string{
		"identity": "endpoint identities are not supported yet; remove identity, and the " +
			"endpoint's deployments run with their compute's identity",
		"kind": "endpoint kinds are not supported yet; remove kind, and berth serves the " +
			"endpoint in real time",
		"public_network_access": "public_network_access is not supported yet; remove it, and " +
			"choose how a cluster exposes its endpoints with the extension's settings " +
			"(inferenceRouterServiceType, internalLoadBalancerProvider)",
	},
}

var authModes = []string{v1.AuthKey, v1.AuthAMLToken}

var unsupportedAuthModes = map[string]string{
	"aad_token": "aad_token (Microsoft Entra ID) authentication is not supported yet; use key " +
		"or aml_token",
}

var (
	trafficRange = intRange{want: "a whole percentage from 0 to 100", max: 100, bounded: true}
	mirrorRange  = intRange{want: "a whole percentage from 0 to 50", max: 50, bounded: true}
)

// ParseEndpoint parses and validates an online endpoint file. On failure the error is a
// *ParseError listing every problem found.
//
// A parsed endpoint has a valid Name, a Compute ("local" unless the file names another), an
// AuthMode of key or aml_token, and a non-nil Traffic whose percentages add up to 0 or 100;
// MirrorTraffic is nil or holds one deployment with at most 50.
func ParseEndpoint(data []byte, opts Options) (*v1.OnlineEndpointSpec, error) {
	return parse(data, opts, endpointFormat, decoder.endpoint)
}

func (d decoder) endpoint(root *yaml.Node) *v1.OnlineEndpointSpec {
	f := d.Fields(root, "", endpointSchema)
	spec := &v1.OnlineEndpointSpec{AuthMode: v1.AuthKey}
	spec.Name = d.requiredName(f["name"].Value, "name", "endpoint",
		"the endpoint has no name; add one, such as name: my-endpoint")
	spec.Description, _, _ = d.Str(f["description"].Value, "description")
	spec.Tags = d.tags(f["tags"].Value)
	spec.Compute = d.Compute(f["compute"].Value, "compute")
	if mode, _ := d.enum(f["auth_mode"].Value, "auth_mode", "auth mode", authModes,
		unsupportedAuthModes); mode != "" {
		spec.AuthMode = mode
	}
	spec.Traffic = d.traffic(f["traffic"].Value)
	spec.MirrorTraffic = d.mirrorTraffic(f["mirror_traffic"].Value)
	return spec
}

// traffic reads how live traffic is split among the endpoint's deployments. It is never nil:
// an endpoint without traffic sends none to any deployment.
func (d decoder) traffic(v *yaml.Node) map[string]int {
	traffic := map[string]int{}
	m, complete := d.percentages(v, "traffic", trafficRange, traffic)
	if !complete {
		return traffic
	}
	sum := 0
	for _, pct := range traffic {
		sum += pct
	}
	if sum != 0 && sum != 100 {
		d.Addf(m, "traffic", "the percentages add up to %d; make them add up to 100, or to 0 "+
			"to send no traffic", sum)
	}
	return traffic
}

// mirrorTraffic reads the share of live traffic copied to one deployment; nil when none.
func (d decoder) mirrorTraffic(v *yaml.Node) map[string]int {
	mirror := map[string]int{}
	m, _ := d.percentages(v, "mirror_traffic", mirrorRange, mirror)
	if len(mirror) > 1 {
		d.Addf(m, "mirror_traffic", "mirrors traffic to %d deployments; mirror to at most one",
			len(mirror))
	}
	if len(mirror) == 0 {
		return nil
	}
	return mirror
}

// percentages reads a mapping of deployment names to percentages within r into out. It
// returns the mapping's node, and whether every entry was valid.
func (d decoder) percentages(v *yaml.Node, field string, r intRange,
	out map[string]int) (*yaml.Node, bool) {
	m, ok := d.Mapping(v, field, "a mapping of deployment names to percentages, such as "+
		"blue: 100")
	if !ok {
		// Absent, or of the wrong kind (reported): either way there is nothing to add up.
		return nil, true
	}
	complete := true
	names, entries := d.Pairs(m, field)
	for i, name := range names {
		if msg := onlineNameProblem("deployment", name); msg != "" {
			d.Addf(entries[i].Key, field, "%s", msg)
			complete = false
		}
		entryField := strictyaml.Join(field, name)
		pct, n, ok := d.boundedInt(entries[i].Value, entryField, r)
		switch {
		case ok:
			out[name] = pct
		case strictyaml.IsNull(n):
			d.Addf(entries[i].Key, entryField, "has no percentage; give %s", r.want)
			complete = false
		default:
			complete = false
		}
	}
	return m, complete && len(names) == len(m.Content)/2
}
