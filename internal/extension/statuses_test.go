package extension

import (
	"errors"
	"testing"

	v1 "berth/api/v1"
	"github.com/google/go-cmp/cmp"
)

func TestStatuses(t *testing.T) {
	err := &ValidationError{Problems: []Problem{
		{Code: CodeNothingEnabled, Message: "neither training nor inference is enabled."},
		{Code: CodeInvalidBoolean, Key: "openshift", Message: `"Ture" is not a boolean.`},
	}}
	notices := []Notice{
		{Code: CodeRouterHAFallback, Message: "one replica."},
		{Code: CodeCNameNotInCertificate, Message: "not covered."},
	}
	want := []v1.ExtensionStatus{
		{Code: CodeNothingEnabled, Level: "Error", Message: "neither training nor inference is enabled."},
		{Code: CodeInvalidBoolean, Level: "Error", Message: `openshift: "Ture" is not a boolean.`},
		{Code: CodeRouterHAFallback, Level: "Information", Message: "one replica."},
		{Code: CodeCNameNotInCertificate, Level: "Warning", Message: "not covered."},
	}
	if diff := cmp.Diff(want, Statuses(notices, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]v1.ExtensionStatus{}, Statuses(nil, nil)); diff != "" {
		t.Errorf("no notices, no error (-want +got):\n%s", diff)
	}
	other := []v1.ExtensionStatus{{Code: "InvalidSettings", Level: "Error", Message: "boom"}}
	if diff := cmp.Diff(other, Statuses(nil, errors.New("boom"))); diff != "" {
		t.Errorf("another error (-want +got):\n%s", diff)
	}
}
