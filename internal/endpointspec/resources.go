package endpointspec

import (
	"math/big"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// gpuResource is the extended resource of NVIDIA's device plugin; Kubernetes hands out whole
// GPUs only.
const gpuResource = "nvidia.com/gpu"

var resourcesSchema = strictyaml.Schema{Fields: []string{"requests", "limits"}}

var resourceListSchema = strictyaml.Schema{
	Fields: []string{"cpu", "memory", gpuResource},
	Hints:  map[string]string{"gpu": gpuResource, "nvidia.com/gpus": gpuResource},
}

// quantity is one parsed entry of a resource list.
type quantity struct {
	text  string
	value *big.Rat
	node  *yaml.Node
}

// resources reads the deployment's requests and limits, as Kubernetes quantities. Quantities
// are kept as written; nil when the file gives none.
func (d decoder) resources(v *yaml.Node) *v1.DeploymentResources {
	m, ok := d.Mapping(v, "resources", "a mapping with requests and limits")
	if !ok {
		return nil
	}
	f := d.Fields(m, "resources", resourcesSchema)
	requests, reqs := d.resourceList(f["requests"].Value, "resources.requests")
	limits, lims := d.resourceList(f["limits"].Value, "resources.limits")
	d.checkRequests(reqs, lims, limits)
	if requests == nil && limits == nil {
		return nil
	}
	return &v1.DeploymentResources{Requests: requests, Limits: limits}
}

// resourceList reads requests or limits. It returns them as written, and the valid ones
// parsed, by resource name.
func (d decoder) resourceList(v *yaml.Node, field string) (v1.ResourceList,
	map[string]quantity) {
	m, ok := d.Mapping(v, field, "a mapping of cpu, memory and nvidia.com/gpu to quantities, "+
		"such as cpu: 500m")
	if !ok {
		return nil, nil
	}
	f := d.Fields(m, field, resourceListSchema)
	list := v1.ResourceList{}
	parsed := map[string]quantity{}
	for _, name := range resourceListSchema.Fields {
		text, n, ok := d.Str(f[name].Value, strictyaml.Join(field, name))
		if !ok {
			continue
		}
		list[name] = text
		if q, ok := d.quantity(text, n, strictyaml.Join(field, name), name); ok {
			parsed[name] = q
		}
	}
	if len(list) == 0 {
		return nil, parsed
	}
	return list, parsed
}

// quantity checks one quantity of the resource name.
func (d decoder) quantity(text string, n *yaml.Node, field, name string) (quantity, bool) {
	value, ok := parseQuantity(text)
	switch {
	case !ok:
		d.Addf(n, field, "%q is not a Kubernetes quantity; give a number with an optional "+
			"suffix, such as %s", strictyaml.Excerpt(text, 40), quantityExample(name))
	case value.Sign() < 0:
		d.Addf(n, field, "%q is negative; give a quantity of 0 or more", text)
	case name == gpuResource && !value.IsInt():
		d.Addf(n, field, "%q is not a whole number; Kubernetes hands out whole GPUs, so give "+
			"0, 1, 2 and so on", text)
	default:
		return quantity{text: text, value: value, node: n}, true
	}
	return quantity{}, false
}

func quantityExample(name string) string {
	switch name {
	case "memory":
		return "512Mi or 2Gi"
	case gpuResource:
		return "1"
	}
	return "500m or 2"
}

// checkRequests reports requests above their limits, and GPU requests that Kubernetes would
// refuse: GPUs cannot be overcommitted, so a GPU request needs a limit, and the same one.
// limitsAsWritten tells a missing limit from an invalid one (reported).
func (d decoder) checkRequests(requests, limits map[string]quantity,
	limitsAsWritten v1.ResourceList) {
	for _, name := range resourceListSchema.Fields {
		req, hasReq := requests[name]
		lim, hasLim := limits[name]
		field := "resources.requests." + name
		switch {
		case hasReq && hasLim && req.value.Cmp(lim.value) > 0:
			d.Addf(req.node, field, "the request %s is above the limit %s; lower the request, "+
				"or raise the limit", req.text, lim.text)
		case name != gpuResource || !hasReq:
		case !hasLim && !written(limitsAsWritten, name):
			d.Addf(req.node, field, "a GPU request needs a limit; add resources.limits.%s: %s, "+
				"or give only the limit", gpuResource, req.text)
		case hasLim && req.value.Cmp(lim.value) != 0:
			d.Addf(req.node, field, "the request %s differs from the limit %s; GPUs cannot be "+
				"shared, so give the same number in both, or give only the limit",
				req.text, lim.text)
		}
	}
}

// written reports whether the file gives the resource name, valid or not.
func written(list v1.ResourceList, name string) bool {
	_, ok := list[name]
	return ok
}
