package strictyaml

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ApplySets applies --set overrides ("dotted.path=value") to the file's YAML tree, in order so
// that a later one wins. They are applied before validation, so an override is checked exactly
// like the file; the nodes they create have no line, and their problems say so by having none.
// A malformed entry is reported even when the file itself could not be read (root is nil).
//
// TODO(strictyaml): a key that itself contains a dot (an environment variable named "A.B")
// cannot be addressed; az has the same limit. Quoting path parts would lift it.
func (d *Decoder) ApplySets(root *yaml.Node, sets []string) {
	for _, s := range sets {
		path, value, msg := d.parseSet(s)
		if msg == "" && root != nil {
			msg = d.setPath(root, path, setValue(value))
		}
		if msg != "" {
			d.Addf(nil, "", "--set %q: %s", Excerpt(s, 80), msg)
		}
	}
}

// Override sets the string at path in the mapping root, as a flag such as --name does: after
// the --set entries, so that it wins. A nil root (a file that could not be read) is left alone.
func (d *Decoder) Override(root *yaml.Node, path []string, value string) {
	if root == nil {
		return
	}
	d.setPath(root, path, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
}

// parseSet splits a --set entry into its path and its value, or says what is wrong with it.
func (d *Decoder) parseSet(s string) (path []string, value, problem string) {
	example := d.format.SetExample
	p, value, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return nil, "", "expected path=value, such as " + example
	case p == "":
		return nil, "", "the path before = is empty; write path=value, such as " + example
	}
	path = strings.Split(p, ".")
	if slices.Contains(path, "") {
		return nil, "", "the path has an empty part between dots; write path=value, such as " +
			example
	}
	return path, value, ""
}

// setValue makes the YAML node for a --set value. The value is read as a plain YAML scalar, so
// limits.timeout=60 is an integer and inputs.x.optional=true a boolean, and nothing more is
// parsed: a command with ": " or " #" in it stays as typed. A value that is one whole quoted
// YAML string ('60', "a: b") is that string.
func setValue(v string) *yaml.Node {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
		var doc yaml.Node
		err := yaml.Unmarshal([]byte(v), &doc)
		if err == nil && len(doc.Content) == 1 {
			n := doc.Content[0]
			if n.Kind == yaml.ScalarNode &&
				n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 &&
				n.HeadComment == "" && n.LineComment == "" && n.FootComment == "" {
				return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: n.Value}
			}
		}
	}
	// An empty tag makes yaml resolve the tag from the text, as it does for a plain scalar.
	return &yaml.Node{Kind: yaml.ScalarNode, Value: v}
}

// setPath sets path in the mapping root to value, creating the mappings on the way. It returns
// what stops it, or "".
func (d *Decoder) setPath(root *yaml.Node, path []string, value *yaml.Node) string {
	m := root
	for i, name := range path {
		at := valueIndex(m, name)
		if i == len(path)-1 {
			if at < 0 {
				m.Content = append(m.Content, keyNode(name), value)
			} else {
				m.Content[at] = value
			}
			return ""
		}
		if at < 0 {
			child := NewMapping()
			m.Content = append(m.Content, keyNode(name), child)
			m = child
			continue
		}
		child := m.Content[at]
		if child.Kind == yaml.AliasNode {
			// Override this use only, not the anchor and its other aliases.
			if child = d.Resolve(child); child == nil {
				return "the file uses too many aliases"
			}
			child = clone(child)
		}
		switch {
		case IsNull(child):
			child = NewMapping()
		case child.Kind != yaml.MappingNode:
			return fmt.Sprintf("%s holds %s, not a mapping, so it has no field %q",
				strings.Join(path[:i+1], "."), Describe(child), path[i+1])
		}
		m.Content[at] = child
		m = child
	}
	return ""
}

// valueIndex returns the index in m.Content of the value of the first key named name, or -1.
func valueIndex(m *yaml.Node, name string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == name {
			return i + 1
		}
	}
	return -1
}

func keyNode(name string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}
}

// clone copies a node and everything under it. Aliases inside stay aliases, so the copy is no
// larger than the file.
func clone(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = clone(child)
	}
	return &c
}
