package endpointspec

import (
	"strings"
	"testing"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
)

// addSeeds adds the files of the tables, with their options, to a fuzzer.
func addSeeds(f *testing.F, files []string, cases []errorCase) {
	for _, y := range files {
		f.Add(y, "", "")
	}
	for _, c := range cases {
		f.Add(c.yaml, strings.Join(c.opts.Set, "\n"), c.opts.Name)
	}
}

func fuzzOptions(set, name string) Options {
	opts := Options{Name: name}
	if set != "" {
		opts.Set = strings.Split(set, "\n")
	}
	return opts
}

func FuzzParseEndpoint(f *testing.F) {
	files := []string{kubernetesEndpoint, managedEndpoint}
	for _, c := range validEndpointCases {
		files = append(files, c.yaml)
	}
	addSeeds(f, files, endpointErrorCases)
	f.Fuzz(func(t *testing.T, yaml, set, name string) {
		spec, err := ParseEndpoint([]byte(yaml), fuzzOptions(set, name))
		if err != nil {
			checkProblems(t, err)
			return
		}
		if onlineNameProblem("endpoint", spec.Name) != "" {
			t.Fatalf("invalid name %q", spec.Name)
		}
		if spec.Compute == "" || spec.AuthMode != v1.AuthKey && spec.AuthMode != v1.AuthAMLToken {
			t.Fatalf("compute %q, auth mode %q", spec.Compute, spec.AuthMode)
		}
		if spec.Traffic == nil {
			t.Fatal("nil traffic")
		}
		sum := 0
		for dep, pct := range spec.Traffic {
			if onlineNameProblem("deployment", dep) != "" || pct < 0 || pct > 100 {
				t.Fatalf("traffic %q: %d", dep, pct)
			}
			sum += pct
		}
		if sum != 0 && sum != 100 {
			t.Fatalf("traffic adds up to %d", sum)
		}
		if len(spec.MirrorTraffic) > 1 || spec.MirrorTraffic != nil && len(spec.MirrorTraffic) == 0 {
			t.Fatalf("mirror traffic %v", spec.MirrorTraffic)
		}
		for dep, pct := range spec.MirrorTraffic {
			if onlineNameProblem("deployment", dep) != "" || pct < 0 || pct > 50 {
				t.Fatalf("mirror traffic %q: %d", dep, pct)
			}
		}
	})
}

func FuzzParseDeployment(f *testing.F) {
	files := []string{blueDeployment, fullDeployment}
	for _, c := range validDeploymentCases {
		files = append(files, c.yaml)
	}
	addSeeds(f, files, deploymentErrorCases)
	f.Fuzz(func(t *testing.T, yaml, set, name string) {
		spec, err := ParseDeployment([]byte(yaml), fuzzOptions(set, name))
		if err != nil {
			checkProblems(t, err)
			return
		}
		checkDeployment(t, spec)
	})
}

// checkDeployment checks the invariants ParseDeployment documents.
func checkDeployment(t *testing.T, s *v1.OnlineDeploymentSpec) {
	t.Helper()
	if onlineNameProblem("deployment", s.Name) != "" ||
		onlineNameProblem("endpoint", s.EndpointName) != "" {
		t.Fatalf("invalid names %q, %q", s.Name, s.EndpointName)
	}
	cc := s.CodeConfiguration
	if cc == nil || !strictyaml.IsLocalPath(cc.Code) || cc.ScoringScript == "" {
		t.Fatalf("code configuration %+v", cc)
	}
	if clean, msg := scriptPath(cc.ScoringScript); msg != "" || clean != cc.ScoringScript {
		t.Fatalf("scoring script %q is not clean and inside: %q %s", cc.ScoringScript, clean, msg)
	}
	if m := s.Model; m != nil && (m.Ref == "") == (m.Path == "") {
		t.Fatalf("model %+v is neither a reference nor a path", m)
	}
	if m := s.Model; m != nil && m.Ref != "" && !modelRef.MatchString(m.Ref) {
		t.Fatalf("model reference %q", m.Ref)
	}
	if s.InstanceCount < 1 {
		t.Fatalf("instance count %d", s.InstanceCount)
	}
	rs := s.RequestSettings
	if rs.RequestTimeoutMS < 1 || rs.RequestTimeoutMS > 300_000 ||
		rs.MaxConcurrentRequestsPerInstance < 1 || rs.MaxQueueWaitMS < 0 {
		t.Fatalf("request settings %+v", rs)
	}
	for _, p := range []*v1.Probe{s.LivenessProbe, s.ReadinessProbe} {
		if p == nil || p.InitialDelay < 0 || p.Period < 1 || p.Timeout < 1 ||
			p.SuccessThreshold < 1 || p.FailureThreshold < 1 {
			t.Fatalf("probe %+v", p)
		}
	}
	if s.LivenessProbe.SuccessThreshold != 1 {
		t.Fatalf("liveness success threshold %d", s.LivenessProbe.SuccessThreshold)
	}
	if r := s.Resources; r != nil {
		checkResources(t, r)
	}
	if sc := s.ScaleSettings; sc != nil {
		switch sc.Type {
		case scaleDefault:
			if *sc != (v1.ScaleSettings{Type: scaleDefault}) {
				t.Fatalf("default scale settings %+v", sc)
			}
		case scaleTargetUtilization:
			if sc.MinInstances < 1 || sc.MaxInstances < sc.MinInstances ||
				sc.PollingInterval < 1 || sc.TargetUtilizationPercentage < 1 ||
				sc.TargetUtilizationPercentage > 100 ||
				s.InstanceCount < sc.MinInstances || s.InstanceCount > sc.MaxInstances {
				t.Fatalf("scale settings %+v with %d instances", sc, s.InstanceCount)
			}
		default:
			t.Fatalf("scale type %q", sc.Type)
		}
	}
	for _, p := range LocalPaths(s) {
		if p.Path == "" || p.Part != "code" && p.Part != "model" {
			t.Fatalf("LocalPaths gave %+v", p)
		}
	}
}

func checkResources(t *testing.T, r *v1.DeploymentResources) {
	t.Helper()
	if r.Requests == nil && r.Limits == nil {
		t.Fatal("empty resources are not nil")
	}
	for _, list := range []v1.ResourceList{r.Requests, r.Limits} {
		if list != nil && len(list) == 0 {
			t.Fatal("an empty resource list is not nil")
		}
		for name, text := range list {
			q, ok := parseQuantity(text)
			if !ok || q.Sign() < 0 || name == gpuResource && !q.IsInt() {
				t.Fatalf("%s quantity %q", name, text)
			}
		}
	}
	for name, text := range r.Requests {
		req, _ := parseQuantity(text)
		if lim, ok := r.Limits[name]; ok {
			l, _ := parseQuantity(lim)
			if req.Cmp(l) > 0 || name == gpuResource && req.Cmp(l) != 0 {
				t.Fatalf("%s request %s, limit %s", name, text, lim)
			}
		} else if name == gpuResource {
			t.Fatalf("GPU request %s without a limit", text)
		}
	}
}

func FuzzParseModel(f *testing.F) {
	addSeeds(f, []string{localModel, "name: m\npath: azureml://jobs/j/outputs/o\n"},
		modelErrorCases)
	f.Fuzz(func(t *testing.T, yaml, set, name string) {
		spec, err := ParseModel([]byte(yaml), fuzzOptions(set, name))
		if err != nil {
			checkProblems(t, err)
			return
		}
		if modelNameProblem(spec.Name) != "" {
			t.Fatalf("invalid name %q", spec.Name)
		}
		if spec.Version != "" && versionProblem(spec.Version) != "" {
			t.Fatalf("invalid version %q", spec.Version)
		}
		if spec.Path == "" || modelPathProblem(spec.Path) != "" {
			t.Fatalf("invalid path %q", spec.Path)
		}
		if spec.Type != CustomModel && spec.Type != MLflowModel {
			t.Fatalf("type %q", spec.Type)
		}
	})
}
