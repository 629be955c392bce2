package jobspec

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"berth/internal/strictyaml"
)

// retargetInputSets makes `--set inputs.<name>=value` change an input, as az ml does, rather
// than replace it: for an input written as a mapping the value goes to its value (or
// default, or path), so that its type still checks it. An input the file does not declare is
// an error, so that a misspelt name (inputs.epoch for epochs) is not a silent new input.
func (d *decoder) retargetInputSets(root *yaml.Node, sets []string) []string {
	if root == nil || root.Kind != yaml.DocumentNode && root.Kind != yaml.MappingNode {
		return sets
	}
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return sets
	}
	inputs := strictyaml.Find(doc, "inputs")
	out := make([]string, 0, len(sets))
	for _, s := range sets {
		path, value, ok := strings.Cut(s, "=")
		name, isInput := strings.CutPrefix(path, "inputs.")
		if !ok || !isInput || name == "" || strings.Contains(name, ".") {
			out = append(out, s)
			continue
		}
		var declared []string
		var input *yaml.Node
		if inputs != nil && inputs.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(inputs.Content); i += 2 {
				declared = append(declared, inputs.Content[i].Value)
				if inputs.Content[i].Value == name {
					input = inputs.Content[i+1]
				}
			}
		}
		if input == nil {
			slices.Sort(declared)
			list := "the file declares none"
			if len(declared) > 0 {
				list = "its inputs are: " + strings.Join(declared, ", ")
			}
			d.Addf(nil, "", "--set %q: the job has no input %s (%s); declare inputs in the file, and use --set to change their values", strictyaml.Excerpt(s, 80), name, list)
			continue
		}
		if input.Kind == yaml.MappingNode {
			field := "value"
			for _, f := range []string{"default", "path"} {
				if strictyaml.Find(input, f) != nil {
					field = f
				}
			}
			s = "inputs." + name + "." + field + "=" + value
		}
		out = append(out, s)
	}
	return out
}
