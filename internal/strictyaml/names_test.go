package strictyaml

import (
	"strings"
	"testing"
)

func TestNameProblem(t *testing.T) {
	valid := []string{"a", "A1", "1job", "train-iris_01", strings.Repeat("x", 255)}
	for _, name := range valid {
		if msg := NameProblem("job", name); msg != "" {
			t.Errorf("NameProblem(%q) = %q, want valid", name, msg)
		}
	}
	const rules = " is not a valid job name; use letters, digits, _ and -, starting with a " +
		"letter or digit"
	invalid := map[string]string{
		"":                       `""` + rules,
		"-a":                     `"-a"` + rules,
		"_a":                     `"_a"` + rules,
		"a.b":                    `"a.b"` + rules,
		"a/b":                    `"a/b"` + rules,
		"é":                      `"é"` + rules,
		strings.Repeat("x", 256): "the job name is 256 characters long; use at most 255",
	}
	for name, want := range invalid {
		if got := NameProblem("job", name); got != want {
			t.Errorf("NameProblem(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestIdentifierProblem(t *testing.T) {
	for _, name := range []string{"a", "_a", "data_1", "A"} {
		if msg := IdentifierProblem("input", name); msg != "" {
			t.Errorf("IdentifierProblem(%q) = %q, want valid", name, msg)
		}
	}
	for _, name := range []string{"", "1a", "a-b", "a.b", "a b", "ü"} {
		want := `"` + name + `" is not a valid input name; start with a letter or _, then use ` +
			`letters, digits and _`
		if name == "ü" {
			want = `"ü" is not a valid input name; start with a letter or _, then use letters, ` +
				`digits and _`
		}
		if got := IdentifierProblem("input", name); got != want {
			t.Errorf("IdentifierProblem(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestVariableProblem(t *testing.T) {
	tests := map[string]string{
		"PATH":   "",
		"my.var": "",
		"":       "a variable name is empty; give each variable a name",
		"A=B":    `"A=B" is not a valid variable name; use a name without = or NUL in it`,
		"A\x00B": `"A\x00B" is not a valid variable name; use a name without = or NUL in it`,
	}
	for name, want := range tests {
		if got := VariableProblem(name); got != want {
			t.Errorf("VariableProblem(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestIsLocalPath(t *testing.T) {
	tests := map[string]bool{
		"./data": true, `C:\data`: true, "file:./data": true, "FILE:data": true,
		"": false, "file:": false, "https://example.com/x": false, "azureml:iris:1": false,
	}
	for p, want := range tests {
		if got := IsLocalPath(p); got != want {
			t.Errorf("IsLocalPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestIsJobOutput(t *testing.T) {
	tests := map[string]bool{
		"jobs/train-1/outputs/model": true,
		"jobs/train-1/outputs/1x":    false,
		"jobs/-x/outputs/model":      false,
		"jobs/train-1/model":         false,
		"datastores/x/paths/y":       false,
	}
	for rest, want := range tests {
		if got := IsJobOutput(rest); got != want {
			t.Errorf("IsJobOutput(%q) = %v, want %v", rest, got, want)
		}
	}
}
