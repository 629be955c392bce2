package strictyaml

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

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
	// The fields of a job file.
	fields := []string{
		"$schema", "type", "name", "display_name", "experiment_name", "description", "tags",
		"command", "code", "environment", "environment_variables", "compute", "inputs",
		"outputs", "distribution", "resources", "limits",
	}
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
		if got := Closest(name, fields); got != want {
			t.Errorf("Closest(%q) = %q, want %q", name, got, want)
		}
	}
}

// testFormat is a file format for the tests of the generic machinery.
var testFormat = Format{Noun: "widget", FieldsExample: "name: and size:", SetExample: "size=3"}

var widgetSchema = Schema{
	Fields:      []string{"name", "size", "labels", "enabled", "nested"},
	Unsupported: map[string]string{"color": "colors are not supported yet; remove color"},
	Hints:       map[string]string{"width": "size"},
}

type widget struct {
	Name    string
	Size    int
	Labels  map[string]string
	Enabled bool
}

// decodeWidget reads a widget file with every generic reader.
func decodeWidget(data string, sets []string) (*widget, error) {
	d := NewDecoder(testFormat)
	root := d.ReadYAML([]byte(data))
	d.ApplySets(root, sets)
	if root == nil {
		return nil, d.Err()
	}
	f := d.Fields(root, "", widgetSchema)
	w := &widget{}
	w.Name, _, _ = d.Str(f["name"].Value, "name")
	w.Size, _, _ = d.Integer(f["size"].Value, "size", "a whole number")
	w.Labels = d.StringMap(f["labels"].Value, "labels", "a mapping of labels", nil)
	w.Enabled, _ = d.Boolean(f["enabled"].Value, "enabled")
	if m, ok := d.Mapping(f["nested"].Value, "nested", "a mapping"); ok {
		d.Fields(m, "nested", Schema{Fields: []string{"size"}})
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return w, nil
}

func TestGenericReaders(t *testing.T) {
	yaml := "name: w\nsize: 3\nlabels:\n  a: 1\n  b: true\n  c:\nenabled: true\n"
	got, err := decodeWidget(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &widget{Name: "w", Size: 3, Labels: map[string]string{"a": "1", "b": "true", "c": ""},
		Enabled: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// unknownFields is the problems of the unknown widget fields names, one a line from line 1.
func unknownFields(names ...string) string {
	var b strings.Builder
	for i, name := range names {
		fmt.Fprintf(&b, "line %d: unknown field %q; valid fields are: name, size, labels, "+
			"enabled, nested\n", i+1, name)
	}
	return b.String()
}

func TestGenericErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		sets []string
		want string
	}{
		{"the format names the file's kind", "- a\n", nil,
			"line 1: expected a mapping of widget fields such as name: and size:, found a list"},
		{"two documents", "name: a\n---\nname: b\n", nil,
			"line 2: the file holds more than one YAML document; keep one widget per file, and " +
				"remove the --- line"},
		{"the --set example is the format's", "name: a\n", []string{"size"},
			`--set "size": expected path=value, such as size=3`},
		{"empty --set path", "", []string{"=1"},
			`--set "=1": the path before = is empty; write path=value, such as size=3`},
		{"empty --set part", "", []string{"nested..size=1"},
			`--set "nested..size=1": the path has an empty part between dots; write ` +
				`path=value, such as size=3`},
		{"a hint", "width: 3\n", nil, `line 1: unknown field "width"; did you mean "size"?`},
		{"unsupported", "color: red\n", nil,
			"line 1: color: colors are not supported yet; remove color"},
		{"nothing close", "zzz: 1\n", nil,
			`line 1: unknown field "zzz"; valid fields are: name, size, labels, enabled, nested`},
		{"wrong kinds", "name: [a]\nsize: '3'\nenabled: yes\nlabels: x\nnested: 1\n", nil,
			"line 1: name: expected a string, found a list\n" +
				`line 2: size: expected a whole number, found "3"` + "\n" +
				`line 3: enabled: expected true or false, found "yes"` + "\n" +
				`line 4: labels: expected a mapping of labels, found "x"` + "\n" +
				`line 5: nested: expected a mapping, found "1"`},
		{"a nested unknown field", "nested:\n  sise: 1\n", nil,
			`line 2: nested: unknown field "sise"; did you mean "size"?`},
		{"a --set through a scalar", "name: a\n", []string{"name.x=1"},
			`--set "name.x=1": name holds "a", not a mapping, so it has no field "x"`},
		{"duplicate and merge keys", "name: a\nname: b\n<<: {size: 1}\n? [k]\n: v\n", nil,
			"line 2: name: duplicate field (first on line 1); keep only one\n" +
				"line 3: YAML merge keys (<<) are not supported; write the fields out\n" +
				"line 4: found a list used as a field name; field names are plain words"},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\n" +
			"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
			"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
			"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
			"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n" +
			"labels: {x: *e}\n", nil,
			unknownFields("a", "b", "c", "d", "e") +
				"line 6: the aliases in the file (such as *e) name too many values; write the " +
				"values out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := decodeWidget(tt.yaml, tt.sets)
			if err == nil {
				t.Fatalf("decoded %+v, want error:\n%s", w, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestOverride(t *testing.T) {
	d := NewDecoder(testFormat)
	root := d.ReadYAML([]byte("name: a\n"))
	d.Override(root, []string{"name"}, "b")
	d.Override(nil, []string{"name"}, "c") // a file that could not be read is left alone
	if got := Find(root, "name"); got == nil || got.Value != "b" || got.Tag != "!!str" {
		t.Errorf("name after Override = %+v, want the string b", got)
	}
	if d.HasProblems() {
		t.Errorf("Override reported %v", d.Err())
	}
}

func TestExpand(t *testing.T) {
	d := NewDecoder(testFormat)
	root := d.ReadYAML([]byte("a: &x {k: v}\nb: [*x, *x]\n"))
	got := d.Expand(Find(root, "b"))
	out, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[{k: v}, {k: v}]\n"; string(out) != want {
		t.Errorf("Expand wrote %q, want %q", out, want)
	}
}

func TestParseErrorFormat(t *testing.T) {
	err := &ParseError{Problems: []Problem{
		{Line: 7, Field: "inputs.data.path", Message: "is wrong"},
		{Field: "command", Message: "is missing"},
		{Line: 2, Message: "whole file"},
		{Message: "no line, no field"},
	}}
	want := "line 7: inputs.data.path: is wrong\ncommand: is missing\nline 2: whole file\n" +
		"no line, no field"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&ParseError{}).Error(); got != "invalid file" {
		t.Errorf("Error() without problems = %q", got)
	}
}

func TestUnknownValue(t *testing.T) {
	valid := []string{"key", "aml_token"}
	if got, want := UnknownValue("auth mode", "kye", valid),
		`unknown auth mode "kye"; did you mean "key"?`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := UnknownValue("auth mode", "basic", valid),
		`unknown auth mode "basic"; use one of: key, aml_token`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
