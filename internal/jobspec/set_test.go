package jobspec

import (
	"strings"
	"testing"

	v1 "berth/api/v1"
	"github.com/google/go-cmp/cmp"
)

func TestSet(t *testing.T) {
	const file = "command: echo ${{inputs.lr}}\ninputs:\n  lr: 0.1\noutputs:\n  model:\n"
	tests := []struct {
		name string
		yaml string
		set  []string
		want func(*v1.JobSpec)
	}{{
		name: "an integer value",
		set:  []string{"limits.timeout=60"},
		want: func(s *v1.JobSpec) { s.Limits = &v1.Limits{Timeout: 60} },
	}, {
		name: "replacing a value from the file",
		set:  []string{"inputs.lr=0.5"},
		want: func(s *v1.JobSpec) { s.Inputs["lr"] = v1.JobInput{Type: "number", Value: "0.5"} },
	}, {
		name: "a quoted value is a string",
		set:  []string{"inputs.lr='0.5'"},
		want: func(s *v1.JobSpec) { s.Inputs["lr"] = v1.JobInput{Type: "string", Value: "0.5"} },
	}, {
		name: "a value with a colon and a hash stays as typed",
		set:  []string{"command=echo a: b # c"},
		want: func(s *v1.JobSpec) { s.Command = "echo a: b # c" },
	}, {
		name: "a value with = in it",
		set:  []string{"environment_variables.OPTS=-Dx=1"},
		want: func(s *v1.JobSpec) { s.EnvironmentVariables = map[string]string{"OPTS": "-Dx=1"} },
	}, {
		name: "inside a null mapping",
		set:  []string{"outputs.model.mode=upload"},
		want: func(s *v1.JobSpec) {
			s.Outputs["model"] = v1.JobOutput{Type: "uri_folder", Mode: "upload"}
		},
	}, {
		name: "a later entry wins",
		set:  []string{"compute=azureml:a", "compute=azureml:b"},
		want: func(s *v1.JobSpec) { s.Compute = "b" },
	}, {
		name: "an empty value is null, so the field is absent",
		set:  []string{"outputs="},
		want: func(s *v1.JobSpec) { s.Outputs = nil },
	}, {
		name: "through an alias, only that use changes",
		yaml: "command: echo\ntags: &t\n  a: x\nenvironment_variables: *t\n",
		set:  []string{"environment_variables.a=y"},
		want: func(s *v1.JobSpec) {
			s.Command = "echo"
			s.Inputs, s.Outputs = nil, nil
			s.Tags = map[string]string{"a": "x"}
			s.EnvironmentVariables = map[string]string{"a": "y"}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := tt.yaml
			if yaml == "" {
				yaml = file
			}
			want := &v1.JobSpec{
				Type:           "command",
				ExperimentName: "Default",
				Command:        "echo ${{inputs.lr}}",
				Compute:        "local",
				Inputs:         map[string]v1.JobInput{"lr": {Type: "number", Value: "0.1"}},
				Outputs:        map[string]v1.JobOutput{"model": {Type: "uri_folder"}},
				Resources:      v1.Resources{InstanceCount: 1},
			}
			tt.want(want)
			got, err := Parse([]byte(yaml), Options{Set: tt.set})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var setErrorCases = []errorCase{{
	name: "no =",
	yaml: "command: echo\n",
	opts: Options{Set: []string{"limits.timeout"}},
	want: `--set "limits.timeout": expected path=value, such as limits.timeout=60`,
}, {
	name: "empty path",
	yaml: "command: echo\n",
	opts: Options{Set: []string{"=60"}},
	want: `--set "=60": the path before = is empty; write path=value, such as limits.timeout=60`,
}, {
	name: "empty part in the path",
	yaml: "command: echo\n",
	opts: Options{Set: []string{"limits..timeout=60"}},
	want: `--set "limits..timeout=60": the path has an empty part between dots; write ` +
		`path=value, such as limits.timeout=60`,
}, {
	name: "through a string",
	yaml: "command: echo\n",
	opts: Options{Set: []string{"command.x=1"}},
	want: `--set "command.x=1": command holds "echo", not a mapping, so it has no field "x"`,
}, {
	name: "reported even when the file cannot be read",
	yaml: "command: [\n",
	opts: Options{Set: []string{"bad"}},
	want: "line 1: invalid YAML: did not find expected node content; check the indentation " +
		"and quoting on this line and the one before\n" +
		`--set "bad": expected path=value, such as limits.timeout=60`,
}, {
	name: "a set value is validated like the file, without a line",
	yaml: "command: echo\n",
	opts: Options{Set: []string{"limits.timeout=-1", "comand=ls"}},
	want: `unknown field "comand"; did you mean "command"?` + "\n" +
		"limits.timeout: expected a positive whole number of seconds, such as 3600, found -1",
}}

func TestSetErrors(t *testing.T) {
	checkErrors(t, setErrorCases)
}

func TestSetChangesAnInputRatherThanReplacingIt(t *testing.T) {
	file := "command: echo ${{inputs.lr}} ${{inputs.epochs}}\ninputs:\n  lr:\n    type: number\n    default: 0.1\n  epochs: 3\n"
	spec, err := Parse([]byte(file), Options{Set: []string{"inputs.lr=0.5", "inputs.epochs=7"}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Inputs["lr"].Value != "0.5" || spec.Inputs["lr"].Type != "number" || spec.Inputs["epochs"].Value != "7" {
		t.Fatalf("inputs after --set: %+v", spec.Inputs)
	}
	_, err = Parse([]byte(file), Options{Set: []string{"inputs.lr=abc"}})
	if err == nil || !strings.Contains(err.Error(), "inputs.lr") {
		t.Fatalf("a number input set to abc: %v", err)
	}
	_, err = Parse([]byte(file), Options{Set: []string{"inputs.epoch=5"}})
	want := `--set "inputs.epoch=5": the job has no input epoch (its inputs are: epochs, lr); declare inputs in the file, and use --set to change their values`
	if err == nil || err.Error() != want {
		t.Fatalf("a misspelt input: %v\nwant %s", err, want)
	}
}
