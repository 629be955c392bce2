package jobspec

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

var distributionTypes = []string{v1.DistributionPyTorch, v1.DistributionMPI, v1.DistributionTensorFlow}

// distributionSchemas gives the fields of each distribution type, with Azure ML's names.
// TensorFlow counts workers rather than processes, and the hint says so to a user who copied a
// PyTorch block.
var distributionSchemas = map[string]strictyaml.Schema{
	v1.DistributionPyTorch: {Fields: []string{"type", "process_count_per_instance"}},
	v1.DistributionMPI:     {Fields: []string{"type", "process_count_per_instance"}},
	v1.DistributionTensorFlow: {
		Fields: []string{"type", "worker_count", "parameter_server_count"},
		Hints:  map[string]string{"process_count_per_instance": "worker_count"},
	},
	// For a missing or unknown type, typos in the other fields are still found.
	"": {Fields: []string{
		"type", "process_count_per_instance", "worker_count", "parameter_server_count",
	}},
}

var resourcesSchema = strictyaml.Schema{
	Fields: []string{"instance_count", "instance_type", "shm_size"},
	Unsupported: map[string]string{
		"properties": "resource properties are not supported yet; remove properties",
		"docker_args": "docker_args are not supported: berth runs jobs without Docker; " +
			"remove docker_args",
	},
}

var limitsSchema = strictyaml.Schema{Fields: []string{"timeout"}}

// distribution reads how the job's processes are laid out.
func (d *decoder) distribution(v *yaml.Node) *v1.Distribution {
	m, ok := d.Mapping(v, "distribution", "a mapping with a type, such as type: pytorch")
	if !ok {
		return nil
	}
	dist := &v1.Distribution{}
	typ, tn, ok := d.Str(strictyaml.Find(m, "type"), "distribution.type")
	switch {
	case ok && slices.Contains(distributionTypes, typ):
		dist.Type = typ
	case ok:
		d.Addf(tn, "distribution.type", "%s",
			strictyaml.UnknownValue("distribution type", typ, distributionTypes))
	}
	f := d.Fields(m, "distribution", distributionSchemas[dist.Type])
	if strictyaml.IsNull(tn) && !d.Suggested("distribution.type") {
		d.Addf(m, "distribution", "has no type; add type: with one of: %s",
			strings.Join(distributionTypes, ", "))
	}
	count := func(name string, least int) int {
		n, node, ok := d.Integer(f[name].Value, "distribution."+name, "a whole number")
		if ok && n < least {
			d.Addf(node, "distribution."+name, "must be at least %d, found %d", least, n)
		}
		return n
	}
	switch dist.Type {
	case v1.DistributionTensorFlow:
		dist.WorkerCount = count("worker_count", 1)
		dist.ParameterServerCount = count("parameter_server_count", 0)
	case v1.DistributionPyTorch, v1.DistributionMPI:
		dist.ProcessCountPerInstance = count("process_count_per_instance", 1)
	}
	return dist
}

// shmSize matches a Docker shared-memory size, a number and a unit: 2g, 512m.
var shmSize = regexp.MustCompile(`^[0-9]+[bkmgBKMG]$`)

// resources reads what the job asks of its compute. It also returns the node of
// instance_count, for the check against the compute made once both are known.
func (d *decoder) resources(v *yaml.Node) (v1.Resources, *yaml.Node) {
	res := v1.Resources{InstanceCount: 1}
	m, ok := d.Mapping(v, "resources", "a mapping with fields such as instance_count")
	if !ok {
		return res, nil
	}
	f := d.Fields(m, "resources", resourcesSchema)
	n, countNode, ok := d.Integer(f["instance_count"].Value, "resources.instance_count",
		"a whole number of instances")
	switch {
	case ok && n < 1:
		d.Addf(countNode, "resources.instance_count", "must be at least 1, found %d", n)
	case ok:
		res.InstanceCount = n
	}
	if t, n, ok := d.Str(f["instance_type"].Value, "resources.instance_type"); ok {
		if t == "" {
			d.Addf(n, "resources.instance_type", "is empty; name an instance type, or remove the field")
		}
		res.InstanceType = t
	}
	if s, n, ok := d.Str(f["shm_size"].Value, "resources.shm_size"); ok {
		if !shmSize.MatchString(s) || strings.Trim(s[:len(s)-1], "0") == "" {
			d.Addf(n, "resources.shm_size", "%q is not a size; give a number and a unit "+
				"(b, k, m or g), such as 2g", strictyaml.Excerpt(s, 40))
		}
		res.ShmSize = s
	}
	return res, countNode
}

// limits reads how long the job may run.
func (d *decoder) limits(v *yaml.Node) *v1.Limits {
	m, ok := d.Mapping(v, "limits", "a mapping with a timeout")
	if !ok {
		return nil
	}
	f := d.Fields(m, "limits", limitsSchema)
	const want = "a positive whole number of seconds, such as 3600"
	t, n, ok := d.Integer(f["timeout"].Value, "limits.timeout", want)
	switch {
	case !ok:
		return nil
	case t <= 0:
		d.Addf(n, "limits.timeout", "expected %s, found %s", want, strconv.Itoa(t))
		return nil
	}
	return &v1.Limits{Timeout: t}
}

// checkLocalInstances reports a multi-instance job on the local compute, which runs every job
// on this one machine.
func (d *decoder) checkLocalInstances(compute string, res v1.Resources, countNode *yaml.Node) {
	if compute == "local" && res.InstanceCount > 1 {
		d.Addf(countNode, "resources.instance_count", "compute local runs one instance, not %d; "+
			"set instance_count to 1, or run on a Kubernetes compute (compute: azureml:<name>)",
			res.InstanceCount)
	}
}
