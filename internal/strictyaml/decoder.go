// Package strictyaml is the machinery that berth's parsers of user YAML files (jobs, online
// endpoints and deployments, models) share: strict decoding of mappings against a schema, with
// the closest valid name for a typo; problems collected with their lines, so that a file's
// mistakes are all reported at once; syntax errors with the line of the mistake and a hint;
// a bound on what aliases may name; --set overrides; scalar coercions as az applies them; and
// the name, path and environment rules the Azure ML CLI v2 file shapes have in common.
//
// Like its users, it reads only the bytes it is given, never the filesystem or the network, so
// the CLI and the server give the same answer for the same file.
package strictyaml

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Format describes the kind of file a decoder reads, for the messages about the file as a
// whole.
type Format struct {
	// Noun names what one file holds, as in "keep one job per file".
	Noun string
	// FieldsExample names two of its top-level fields, as in "a mapping of job fields such as
	// command: and inputs:".
	FieldsExample string
	// SetExample is a --set entry that makes sense for the file, such as limits.timeout=60.
	SetExample string
}

// Decoder walks a file's YAML tree, collecting problems instead of stopping at the first, so
// that one run reports everything wrong with the file. Parsers embed it and add their own
// readers for their fields.
type Decoder struct {
	format   Format
	problems []Problem
	// aliasNodes counts the nodes named by the aliases followed so far, and sizes caches the
	// size of each aliased node; see Resolve.
	aliasNodes int
	sizes      map[*yaml.Node]int
	// suggested holds the fields that an unknown field was taken for ("comand" for "command"),
	// so that such a field is not also reported missing.
	suggested map[string]bool
}

// NewDecoder returns a decoder for files of the given format.
func NewDecoder(f Format) *Decoder {
	return &Decoder{format: f, suggested: make(map[string]bool)}
}

// maxAliasNodes bounds the values a file may name through aliases: far more than any real file
// of the shapes berth reads, far less than a small file of nested aliases can name.
const maxAliasNodes = 100_000

// Addf reports a problem with field at node n (nil when the problem has no line, such as a
// missing field or a value from --set).
func (d *Decoder) Addf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.problems = append(d.problems, Problem{
		Line:    line,
		Field:   field,
		Message: fmt.Sprintf(format, args...),
	})
}

// HasProblems reports whether any problem was found so far.
func (d *Decoder) HasProblems() bool {
	return len(d.problems) > 0
}

// Err returns a *ParseError with the problems found, in file order, or nil when there are none.
func (d *Decoder) Err() error {
	if len(d.problems) == 0 {
		return nil
	}
	return &ParseError{Problems: d.sortedProblems()}
}

// Suggested reports whether an unknown field was taken for the field at path (such as
// "environment.image"), so that the field is already reported and should not also be reported
// missing.
func (d *Decoder) Suggested(path string) bool {
	return d.suggested[path]
}

// sortedProblems returns the problems in file order, those without a line last, without
// duplicates (a node reached through several aliases reports its problem once).
func (d *Decoder) sortedProblems() []Problem {
	ps := slices.Clone(d.problems)
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Compare(lineOrder(a.Line), lineOrder(b.Line))
	})
	seen := make(map[Problem]bool, len(ps))
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func lineOrder(line int) int {
	if line == 0 {
		return math.MaxInt
	}
	return line
}

// Resolve follows an alias to the node it names. It returns nil for nil, and for an alias once
// the aliases followed so far name more than maxAliasNodes nodes in all (reported once): a few
// lines of nested aliases can otherwise name billions of values. Every reader of a value goes
// through it.
func (d *Decoder) Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		if d.aliasNodes > maxAliasNodes {
			return nil
		}
		d.aliasNodes += d.size(n.Alias)
		if d.aliasNodes > maxAliasNodes {
			d.Addf(n, "", "the aliases in the file (such as *%s) name too many values; write "+
				"the values out", n.Value)
			return nil
		}
		n = n.Alias
	}
	return n
}

// size counts the nodes under n, aliases included, up to maxAliasNodes+1. A node that contains
// an alias to itself counts as too many.
func (d *Decoder) size(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	if s, ok := d.sizes[n]; ok {
		return s
	}
	if d.sizes == nil {
		d.sizes = make(map[*yaml.Node]int)
	}
	d.sizes[n] = maxAliasNodes + 1
	s := 1
	if n.Kind == yaml.AliasNode {
		s += d.size(n.Alias)
	}
	for _, c := range n.Content {
		s = min(s+d.size(c), maxAliasNodes+1)
	}
	d.sizes[n] = s
	return s
}

// Expand copies n with its aliases replaced by what they name, so that it can be written out
// on its own; nil when the alias budget runs out (reported).
func (d *Decoder) Expand(n *yaml.Node) *yaml.Node {
	n = d.Resolve(n)
	if n == nil {
		return nil
	}
	c := *n
	c.Anchor = ""
	c.Line, c.Column = 0, 0
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		if c.Content[i] = d.Expand(child); c.Content[i] == nil {
			return nil
		}
	}
	return &c
}
