package jobspec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// schema lists the fields one mapping of a job file accepts. Anything else is rejected, with the
// closest valid name, because a misspelt optional field silently ignored (`enviroment:`) makes a
// job run differently from what its author reads in the file.
type schema struct {
	// fields are the accepted keys, in the order an error message lists them.
	fields []string
	// unsupported maps keys that Azure ML accepts but berth does not yet to what to do instead,
	// so that a file written for Azure gets a precise answer rather than "unknown field".
	unsupported map[string]string
	// hints maps a known mistake to the field meant, where edit distance cannot see it.
	hints map[string]string
}

var jobSchema = schema{
	fields: []string{
		"$schema", "type", "name", "display_name", "experiment_name", "description", "tags",
		"command", "code", "environment", "environment_variables", "compute", "inputs",
		"outputs", "distribution", "resources", "limits",
	},
	unsupported: map[string]string{
		"services": "job services (ssh, jupyter, tensorboard) are not supported yet; " +
			"remove services",
		"identity": "job identities are not supported yet; remove identity, and the job runs " +
			"with its compute's identity",
		"queue_settings": "queue settings are not supported yet; remove queue_settings",
		"properties": "job properties are not supported yet; remove properties, and use tags " +
			"for key-value metadata",
	},
}

// entry is one field of a YAML mapping.
type entry struct {
	key *yaml.Node
	// value is as written: it may be an alias, so read it through decoder.resolve.
	value *yaml.Node
}

// resolve follows an alias to the node it names. It returns nil for nil, and for an alias once
// the aliases followed so far name more than maxAliasNodes nodes in all (reported once): a few
// lines of nested aliases can otherwise name billions of values.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		if d.aliasNodes > maxAliasNodes {
			return nil
		}
		d.aliasNodes += d.size(n.Alias)
		if d.aliasNodes > maxAliasNodes {
			d.addf(n, "", "the aliases in the file (such as *%s) name too many values; write "+
				"the values out", n.Value)
			return nil
		}
		n = n.Alias
	}
	return n
}

// size counts the nodes under n, aliases included, up to maxAliasNodes+1. A node that contains
// an alias to itself counts as too many.
func (d *decoder) size(n *yaml.Node) int {
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

// pairs returns the entries of a mapping node with their key names, reporting keys that are not
// plain names, YAML merge keys and duplicate keys (which YAML forbids and which would otherwise
// make one of the two values silently win). Duplicates are dropped; the first one counts.
func (d *decoder) pairs(m *yaml.Node, path string) ([]string, []entry) {
	var names []string
	var entries []entry
	first := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(m.Content); i += 2 {
		key := d.resolve(m.Content[i])
		switch {
		case key == nil:
			continue
		case key.Kind != yaml.ScalarNode:
			d.addf(key, path, "found %s used as a field name; field names are plain words",
				describe(key))
			continue
		case key.ShortTag() == "!!merge":
			d.addf(key, path, "YAML merge keys (<<) are not supported; write the fields out")
			continue
		}
		name := key.Value
		if prev, dup := first[name]; dup {
			d.addf(key, join(path, name), "duplicate field (first on line %d); keep only one",
				prev.Line)
			continue
		}
		first[name] = key
		names = append(names, name)
		entries = append(entries, entry{key: key, value: m.Content[i+1]})
	}
	return names, entries
}

// fields checks the keys of mapping m against s and returns the accepted ones by name.
// A missing field yields the zero entry, whose nil value every reader treats as absent.
func (d *decoder) fields(m *yaml.Node, path string, s schema) map[string]entry {
	names, entries := d.pairs(m, path)
	got := make(map[string]entry, len(entries))
	for i, name := range names {
		e := entries[i]
		switch {
		case slices.Contains(s.fields, name):
			got[name] = e
		case s.unsupported[name] != "":
			d.addf(e.key, join(path, name), "%s", s.unsupported[name])
		default:
			d.addf(e.key, path, "%s", unknownField(name, s))
			if c := suggestField(name, s); c != "" {
				d.suggested[join(path, c)] = true
			}
		}
	}
	return got
}

// find returns the value of the first key named name in mapping m, or nil.
func find(m *yaml.Node, name string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == name {
			return m.Content[i+1]
		}
	}
	return nil
}

// suggestField returns the field of s that name is most likely a typo of, or "".
func suggestField(name string, s schema) string {
	if hint := s.hints[name]; hint != "" {
		return hint
	}
	return closest(name, s.fields)
}

func unknownField(name string, s schema) string {
	if c := suggestField(name, s); c != "" {
		return fmt.Sprintf("unknown field %q; did you mean %q?", name, c)
	}
	return fmt.Sprintf("unknown field %q; valid fields are: %s", name, strings.Join(s.fields, ", "))
}

// unknownValue says that value is not one of valid, suggesting the closest when there is one.
func unknownValue(what, value string, valid []string) string {
	if c := closest(value, valid); c != "" {
		return fmt.Sprintf("unknown %s %q; did you mean %q?", what, value, c)
	}
	return fmt.Sprintf("unknown %s %q; use one of: %s", what, value, strings.Join(valid, ", "))
}

// isNull reports whether n is absent or an explicit null (`key:` with nothing after it). Both
// mean "not given", as they do for az.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// str reads a field that holds text. Numbers and booleans are taken as written, as az does, so
// `version: 1` is "1". ok is false when the field is absent or of the wrong kind (reported).
func (d *decoder) str(v *yaml.Node, field string) (s string, n *yaml.Node, ok bool) {
	n = d.resolve(v)
	if isNull(n) {
		return "", n, false
	}
	if n.Kind != yaml.ScalarNode {
		d.addf(n, field, "expected a string, found %s", describe(n))
		return "", n, false
	}
	return n.Value, n, true
}

// integer reads a field that holds a whole number; want describes it for the error message.
// Quoted numbers ("60") are refused: the file says a string, and strictness here keeps the
// CLI and the server from disagreeing about what a value means.
func (d *decoder) integer(v *yaml.Node, field, want string) (i int, n *yaml.Node, ok bool) {
	n = d.resolve(v)
	if isNull(n) {
		return 0, n, false
	}
	var x int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil ||
		int64(int(x)) != x {
		d.addf(n, field, "expected %s, found %s", want, describe(n))
		return 0, n, false
	}
	return int(x), n, true
}

// boolean reads a field that holds true or false. YAML 1.1 spellings (yes, on) are refused, so
// that `optional: no` cannot mean something different here and in another tool.
func (d *decoder) boolean(v *yaml.Node, field string) (b bool, ok bool) {
	n := d.resolve(v)
	if isNull(n) {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.addf(n, field, "expected true or false, found %s", describe(n))
		return false, false
	}
	return b, true
}

// mapping reads a field that holds a mapping; want describes it for the error message.
func (d *decoder) mapping(v *yaml.Node, field, want string) (*yaml.Node, bool) {
	n := d.resolve(v)
	if isNull(n) {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		d.addf(n, field, "expected %s, found %s", want, describe(n))
		return nil, false
	}
	return n, true
}

// describe names what a node holds, for "expected X, found Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing"
	}
	return strconv.Quote(excerpt(n.Value, 40))
}

// excerpt cuts s to at most max bytes, on a rune boundary, marking the cut with "...".
func excerpt(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// join appends a field name to a dotted path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// closest returns the candidate nearest to name, or "" when none is near enough to be a likely
// typo. A difference only in case always counts: keys are case-sensitive, and `Command` for
// `command` is the commonest slip.
func closest(name string, candidates []string) string {
	for _, c := range candidates {
		if strings.EqualFold(c, name) {
			return c
		}
	}
	limit := max(1, min(3, utf8.RuneCountInString(name)/3))
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if dist := editDistance(name, c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions, deletions, substitutions
// and transpositions of adjacent runes each cost one ("comamnd" is one step from "command").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Names are short; cap the work for pathological input from fuzzing or a hostile file.
	if len(ra) > 64 || len(rb) > 64 {
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
