package jobspec

import "testing"

var resourceErrorCases = []errorCase{{
	name: "instance_count above 1 on local",
	yaml: "command: echo\nresources:\n  instance_count: 2\n",
	want: "line 3: resources.instance_count: compute local runs one instance, not 2; set " +
		"instance_count to 1, or run on a Kubernetes compute (compute: azureml:<name>)",
}, {
	name: "instance_count above 1 on azureml:local",
	yaml: "command: echo\ncompute: azureml:local\nresources:\n  instance_count: 4\n",
	want: "line 4: resources.instance_count: compute local runs one instance, not 4; set " +
		"instance_count to 1, or run on a Kubernetes compute (compute: azureml:<name>)",
}, {
	name: "instance_count 0",
	yaml: "command: echo\nresources:\n  instance_count: 0\n",
	want: "line 3: resources.instance_count: must be at least 1, found 0",
}, {
	name: "instance_count quoted",
	yaml: "command: echo\nresources:\n  instance_count: '2'\n",
	want: `line 3: resources.instance_count: expected a whole number of instances, found "2"`,
}, {
	name: "bad shm_size",
	yaml: "command: echo\nresources:\n  shm_size: 2GB\n",
	want: `line 3: resources.shm_size: "2GB" is not a size; give a number and a unit ` +
		`(b, k, m or g), such as 2g`,
}, {
	name: "zero shm_size",
	yaml: "command: echo\nresources:\n  shm_size: 0g\n",
	want: `line 3: resources.shm_size: "0g" is not a size; give a number and a unit ` +
		`(b, k, m or g), such as 2g`,
}, {
	name: "empty instance_type",
	yaml: "command: echo\nresources:\n  instance_type: ''\n",
	want: "line 3: resources.instance_type: is empty; name an instance type, or remove the field",
}, {
	name: "docker_args",
	yaml: "command: echo\nresources:\n  docker_args: --privileged\n",
	want: "line 3: resources.docker_args: docker_args are not supported: berth runs jobs " +
		"without Docker; remove docker_args",
}, {
	name: "resource properties",
	yaml: "command: echo\nresources:\n  properties: {a: b}\n",
	want: "line 3: resources.properties: resource properties are not supported yet; remove " +
		"properties",
}, {
	name: "misspelt resources field",
	yaml: "command: echo\nresources:\n  instance_cout: 1\n",
	want: `line 3: resources: unknown field "instance_cout"; did you mean "instance_count"?`,
}, {
	name: "resources that are not a mapping",
	yaml: "command: echo\nresources: big\n",
	want: `line 2: resources: expected a mapping with fields such as instance_count, found "big"`,
}, {
	name: "negative timeout",
	yaml: "command: echo\nlimits:\n  timeout: -5\n",
	want: "line 3: limits.timeout: expected a positive whole number of seconds, such as 3600, " +
		"found -5",
}, {
	name: "zero timeout",
	yaml: "command: echo\nlimits:\n  timeout: 0\n",
	want: "line 3: limits.timeout: expected a positive whole number of seconds, such as 3600, " +
		"found 0",
}, {
	name: "timeout with a unit",
	yaml: "command: echo\nlimits:\n  timeout: 1h\n",
	want: `line 3: limits.timeout: expected a positive whole number of seconds, such as 3600, ` +
		`found "1h"`,
}, {
	name: "fractional timeout",
	yaml: "command: echo\nlimits:\n  timeout: 1.5\n",
	want: `line 3: limits.timeout: expected a positive whole number of seconds, such as 3600, ` +
		`found "1.5"`,
}, {
	name: "timeout too large for an int",
	yaml: "command: echo\nlimits:\n  timeout: 99999999999999999999\n",
	want: `line 3: limits.timeout: expected a positive whole number of seconds, such as 3600, ` +
		`found "99999999999999999999"`,
}, {
	name: "sweep limits",
	yaml: "command: echo\nlimits:\n  max_total_trials: 5\n",
	want: `line 3: limits: unknown field "max_total_trials"; valid fields are: timeout`,
}, {
	name: "distribution without a type",
	yaml: "command: echo\ndistribution:\n  process_count_per_instance: 2\n",
	want: "line 3: distribution: has no type; add type: with one of: pytorch, mpi, tensorflow",
}, {
	name: "misspelt distribution type field",
	yaml: "command: echo\ndistribution:\n  typ: pytorch\n",
	want: `line 3: distribution: unknown field "typ"; did you mean "type"?`,
}, {
	name: "distribution type in the wrong case",
	yaml: "command: echo\ndistribution:\n  type: PyTorch\n",
	want: `line 3: distribution.type: unknown distribution type "PyTorch"; did you mean "pytorch"?`,
}, {
	name: "unknown distribution type",
	yaml: "command: echo\ndistribution:\n  type: horovod\n",
	want: `line 3: distribution.type: unknown distribution type "horovod"; use one of: ` +
		`pytorch, mpi, tensorflow`,
}, {
	name: "process_count_per_instance under tensorflow",
	yaml: "command: echo\ndistribution:\n  type: tensorflow\n  process_count_per_instance: 2\n",
	want: `line 4: distribution: unknown field "process_count_per_instance"; did you mean ` +
		`"worker_count"?`,
}, {
	name: "worker_count under pytorch",
	yaml: "command: echo\ndistribution:\n  type: pytorch\n  worker_count: 2\n",
	want: `line 4: distribution: unknown field "worker_count"; valid fields are: type, ` +
		`process_count_per_instance`,
}, {
	name: "process_count_per_instance 0",
	yaml: "command: echo\ndistribution:\n  type: mpi\n  process_count_per_instance: 0\n",
	want: "line 4: distribution.process_count_per_instance: must be at least 1, found 0",
}, {
	name: "tensorflow counts",
	yaml: "command: echo\ndistribution:\n  type: tensorflow\n  worker_count: 0\n" +
		"  parameter_server_count: -1\n",
	want: "line 4: distribution.worker_count: must be at least 1, found 0\n" +
		"line 5: distribution.parameter_server_count: must be at least 0, found -1",
}}

func TestResourceErrors(t *testing.T) {
	checkErrors(t, resourceErrorCases)
}
