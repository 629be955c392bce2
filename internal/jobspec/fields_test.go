package jobspec

import "testing"

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"command", "command", 0},
		{"comand", "command", 1},
		{"comamnd", "command", 1},
		{"Command", "command", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
		{"ünicode", "unicode", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	fields := jobSchema.fields
	tests := map[string]string{
		"comand":               "command",
		"COMMAND":              "command",
		"enviroment":           "environment",
		"environment_variable": "environment_variables",
		"input":                "inputs",
		"schema":               "$schema",
		"typ":                  "type",
		"foo":                  "",
		"x":                    "",
		"resources_count":      "",
	}
	for name, want := range tests {
		if got := closest(name, fields); got != want {
			t.Errorf("closest(%q) = %q, want %q", name, got, want)
		}
	}
}
