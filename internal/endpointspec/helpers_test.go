package endpointspec

import (
	"errors"
	"testing"
)

type errorCase struct {
	name string
	yaml string
	opts Options
	want string
}

// checkErrors runs parse on each case and compares the whole error text.
func checkErrors[T any](t *testing.T, parse func([]byte, Options) (*T, error),
	tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := parse([]byte(tt.yaml), tt.opts)
			if err == nil {
				t.Fatalf("succeeded with %+v, want error:\n%s", spec, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *ParseError", err)
			}
			if spec != nil {
				t.Errorf("returned a spec with its error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// checkProblems fails unless err is a *ParseError whose problems are well formed.
func checkProblems(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) || len(pe.Problems) == 0 {
		t.Fatalf("error %v (%T) is not a ParseError with problems", err, err)
	}
	for _, p := range pe.Problems {
		if p.Message == "" || p.Line < 0 {
			t.Fatalf("malformed problem %+v", p)
		}
	}
}
