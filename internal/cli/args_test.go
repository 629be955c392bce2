package cli

import (
	"strings"
	"testing"
)

func TestExpandMultiValueFlags(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"job create -f j.yml --set a=1 b=2 --stream", "job create -f j.yml --set a=1 --set b=2 --stream"},
		{"job create --set a=1 --set b=2", "job create --set a=1 --set b=2"},
		{"job create --set=a=1 b=2", "job create --set=a=1 --set b=2"},
		{"job create -n x --set", "job create -n x --set"},
		{"job create --set a=1 -- b=2", "job create --set a=1 -- b=2"},
		{"job show -n x", "job show -n x"},
	}
	for _, tt := range tests {
		got := strings.Join(expandMultiValueFlags(strings.Fields(tt.in), multiValueFlags), " ")
		if got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
