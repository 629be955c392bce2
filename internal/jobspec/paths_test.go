package jobspec

import (
	"testing"

	v1 "berth/api/v1"
	"github.com/google/go-cmp/cmp"
)

func TestIsLocalPath(t *testing.T) {
	tests := map[string]bool{
		"./data":                              true,
		"data":                                true,
		"../data/x.csv":                       true,
		"/abs/data":                           true,
		`C:\data`:                             true,
		"c:/data":                             true,
		"file:./data":                         true,
		"file:///abs/data":                    true,
		"FILE:data":                           true,
		"./odd:name":                          true,
		"":                                    false,
		"file:":                               false,
		"http://example.com/x":                false,
		"https://example.com/x":               false,
		"azureml:iris:1":                      false,
		"azureml://jobs/j/outputs/o":          false,
		"wasbs://c@a.blob.core.windows.net/x": false,
		"s3://bucket/key":                     false,
		"git+https://github.com/x/y":          false,
	}
	for p, want := range tests {
		if got := IsLocalPath(p); got != want {
			t.Errorf("IsLocalPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestLocalPaths(t *testing.T) {
	spec := &v1.JobSpec{
		Code: "file:src",
		Inputs: map[string]v1.JobInput{
			"z":      {Type: v1.InputURIFolder, Path: "./z"},
			"a":      {Type: v1.InputURIFile, Path: "file:///abs/a.csv"},
			"remote": {Type: v1.InputURIFile, Path: "https://example.com/r.csv"},
			"output": {Type: v1.InputURIFolder, Path: "azureml://jobs/j/outputs/o"},
			"text":   {Type: v1.InputString, Value: "./looks-like-a-path"},
			"absent": {Type: v1.InputURIFolder, Optional: true},
		},
	}
	want := []LocalPath{
		{Part: "code", Path: "src"},
		{Part: "inputs.a", Path: "/abs/a.csv"},
		{Part: "inputs.z", Path: "./z"},
	}
	if diff := cmp.Diff(want, LocalPaths(spec)); diff != "" {
		t.Errorf("LocalPaths mismatch (-want +got):\n%s", diff)
	}
	if got := LocalPaths(&v1.JobSpec{Code: "azureml:code:1"}); got != nil {
		t.Errorf("LocalPaths of a remote code = %v, want none", got)
	}
	if got := LocalPaths(nil); got != nil {
		t.Errorf("LocalPaths(nil) = %v, want none", got)
	}
}
