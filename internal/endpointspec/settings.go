package endpointspec

import (
	"strings"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

var requestSettingsSchema = strictyaml.Schema{
	Fields: []string{
		"request_timeout_ms", "max_concurrent_requests_per_instance", "max_queue_wait_ms",
	},
}

var (
	requestTimeoutRange = intRange{want: "a whole number of milliseconds from 1 to 300000",
		min: 1, max: 300_000, bounded: true}
	maxConcurrentRange = intRange{want: "a whole number of requests, at least 1", min: 1}
	queueWaitRange     = intRange{want: "a whole number of milliseconds, at least 0"}
)

// requestSettings reads how the router bounds each scoring request, with Azure ML's defaults.
func (d decoder) requestSettings(v *yaml.Node) v1.RequestSettings {
	rs := v1.RequestSettings{
		RequestTimeoutMS:                 v1.DefaultRequestTimeoutMS,
		MaxConcurrentRequestsPerInstance: v1.DefaultMaxConcurrent,
		MaxQueueWaitMS:                   v1.DefaultMaxQueueWaitMS,
	}
	m, ok := d.Mapping(v, "request_settings", "a mapping with fields such as request_timeout_ms")
	if !ok {
		return rs
	}
	f := d.Fields(m, "request_settings", requestSettingsSchema)
	read := func(name string, r intRange, into *int) {
		if x, _, ok := d.boundedInt(f[name].Value, "request_settings."+name, r); ok {
			*into = x
		}
	}
	read("request_timeout_ms", requestTimeoutRange, &rs.RequestTimeoutMS)
	read("max_concurrent_requests_per_instance", maxConcurrentRange,
		&rs.MaxConcurrentRequestsPerInstance)
	read("max_queue_wait_ms", queueWaitRange, &rs.MaxQueueWaitMS)
	return rs
}

var probeSchema = strictyaml.Schema{
	Fields: []string{
		"initial_delay", "period", "timeout", "success_threshold", "failure_threshold",
	},
}

// defaultProbe is Azure ML's probe for online deployments: start after 10 seconds, probe every
// 10 seconds with a 2-second timeout, and give up after 30 failures in a row.
var defaultProbe = v1.Probe{
	InitialDelay:     10,
	Period:           10,
	Timeout:          2,
	SuccessThreshold: 1,
	FailureThreshold: 30,
}

// The bounds are Kubernetes': a probe's period, timeout and thresholds are at least 1.
var (
	delayRange     = intRange{want: "a whole number of seconds, at least 0"}
	secondsRange   = intRange{want: "a whole number of seconds, at least 1", min: 1}
	thresholdRange = intRange{want: "a whole number of probes, at least 1", min: 1}
)

// probe reads a liveness or readiness probe. It is never nil: the fields the file leaves out,
// or the whole probe, take Azure ML's defaults.
func (d decoder) probe(v *yaml.Node, field string) *v1.Probe {
	p := defaultProbe
	m, ok := d.Mapping(v, field, "a mapping with fields such as period and timeout")
	if !ok {
		return &p
	}
	f := d.Fields(m, field, probeSchema)
	read := func(name string, r intRange, into *int) *yaml.Node {
		x, n, ok := d.boundedInt(f[name].Value, strictyaml.Join(field, name), r)
		if ok {
			*into = x
		}
		return n
	}
	read("initial_delay", delayRange, &p.InitialDelay)
	read("period", secondsRange, &p.Period)
	read("timeout", secondsRange, &p.Timeout)
	successNode := read("success_threshold", thresholdRange, &p.SuccessThreshold)
	read("failure_threshold", thresholdRange, &p.FailureThreshold)
	if field == "liveness_probe" && p.SuccessThreshold != 1 {
		d.Addf(successNode, "liveness_probe.success_threshold", "must be 1 for a liveness "+
			"probe, found %d; Kubernetes allows no other value", p.SuccessThreshold)
		p.SuccessThreshold = 1
	}
	return &p
}

// Scale types.
const (
	scaleDefault           = "default"
	scaleTargetUtilization = "target_utilization"
)

var scaleTypes = []string{scaleDefault, scaleTargetUtilization}

// targetUtilizationFields are the fields of target_utilization scale settings.
var targetUtilizationFields = []string{
	"min_instances", "max_instances", "polling_interval", "target_utilization_percentage",
}

var scaleSchemas = map[string]strictyaml.Schema{
	scaleDefault: {
		Fields:      []string{"type"},
		Unsupported: onlyForTargetUtilization(),
	},
	scaleTargetUtilization: {Fields: append([]string{"type"}, targetUtilizationFields...)},
	// For a missing or unknown type, typos in the other fields are still found.
	"": {Fields: append([]string{"type"}, targetUtilizationFields...)},
}

func onlyForTargetUtilization() map[string]string {
	m := make(map[string]string, len(targetUtilizationFields))
	for _, name := range targetUtilizationFields {
		m[name] = "applies only to type: target_utilization; remove " + name + ", or set " +
			"type: target_utilization"
	}
	return m
}

// defaultTargetUtilization holds Azure ML's defaults for target_utilization scale settings.
var defaultTargetUtilization = v1.ScaleSettings{
	Type:                        scaleTargetUtilization,
	MinInstances:                1,
	MaxInstances:                1,
	PollingInterval:             1,
	TargetUtilizationPercentage: 70,
}

var (
	scaleInstancesRange = intRange{want: "a whole number of instances, at least 1", min: 1}
	pollingRange        = intRange{want: "a whole number of seconds, at least 1", min: 1}
	utilizationRange    = intRange{want: "a whole percentage from 1 to 100", min: 1, max: 100,
		bounded: true}
)

// scaleSettings reads how the deployment scales: nil when the file does not say, else the
// type, with every field of target_utilization filled in.
func (d decoder) scaleSettings(v *yaml.Node) *v1.ScaleSettings {
	m, ok := d.Mapping(v, "scale_settings", "a mapping with a type, such as type: default")
	if !ok {
		return nil
	}
	typ, tn := d.enum(strictyaml.Find(m, "type"), "scale_settings.type", "scale type",
		scaleTypes, nil)
	f := d.Fields(m, "scale_settings", scaleSchemas[typ])
	if strictyaml.IsNull(tn) && !d.Suggested("scale_settings.type") {
		d.Addf(m, "scale_settings", "has no type; add type: with one of: %s",
			strings.Join(scaleTypes, ", "))
	}
	switch typ {
	case scaleDefault:
		return &v1.ScaleSettings{Type: scaleDefault}
	case scaleTargetUtilization:
	default:
		return nil
	}

	s := defaultTargetUtilization
	read := func(name string, r intRange, into *int) *yaml.Node {
		x, n, ok := d.boundedInt(f[name].Value, "scale_settings."+name, r)
		if ok {
			*into = x
		}
		return n
	}
	minNode := read("min_instances", scaleInstancesRange, &s.MinInstances)
	maxNode := read("max_instances", scaleInstancesRange, &s.MaxInstances)
	read("polling_interval", pollingRange, &s.PollingInterval)
	read("target_utilization_percentage", utilizationRange, &s.TargetUtilizationPercentage)
	if s.MinInstances > s.MaxInstances {
		at, maxText := maxNode, ""
		if strictyaml.IsNull(maxNode) {
			at, maxText = minNode, ", the default"
		}
		d.Addf(at, "scale_settings", "min_instances (%d) is above max_instances (%d%s); raise "+
			"max_instances, or lower min_instances", s.MinInstances, s.MaxInstances, maxText)
	}
	return &s
}

// checkScale checks instance_count against target_utilization scale settings, and without an
// instance_count starts the deployment with min_instances.
func (d decoder) checkScale(spec *v1.OnlineDeploymentSpec, countNode *yaml.Node, hasCount bool) {
	s := spec.ScaleSettings
	if s == nil || s.Type != scaleTargetUtilization || s.MinInstances > s.MaxInstances {
		return
	}
	if !hasCount {
		if strictyaml.IsNull(countNode) {
			spec.InstanceCount = s.MinInstances
		}
		return
	}
	if spec.InstanceCount < s.MinInstances || spec.InstanceCount > s.MaxInstances {
		d.Addf(countNode, "instance_count", "%d is outside the scale settings' range of %d to %d "+
			"instances; give an instance_count within it, or remove instance_count to start "+
			"with min_instances", spec.InstanceCount, s.MinInstances, s.MaxInstances)
	}
}
