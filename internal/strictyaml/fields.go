package strictyaml

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Schema lists the fields one mapping of a file accepts. Anything else is rejected, with the
// closest valid name, because a misspelt optional field silently ignored (`enviroment:`) makes
// the file mean something different from what its author reads in it.
type Schema struct {
	// Fields are the accepted keys, in the order an error message lists them.
	Fields []string
	// Unsupported maps keys that Azure ML accepts but berth does not yet to what to do instead,
	// so that a file written for Azure gets a precise answer rather than "unknown field".
	Unsupported map[string]string
	// Hints maps a known mistake to the field meant, where edit distance cannot see it.
	Hints map[string]string
}

// Entry is one field of a YAML mapping.
type Entry struct {
	Key *yaml.Node
	// Value is as written: it may be an alias, so read it through Decoder.Resolve (every
	// reader of the Decoder does).
	Value *yaml.Node
}

// Pairs returns the entries of a mapping node with their key names, reporting keys that are not
// plain names, YAML merge keys and duplicate keys (which YAML forbids and which would otherwise
// make one of the two values silently win). Duplicates are dropped; the first one counts.
func (d *Decoder) Pairs(m *yaml.Node, path string) ([]string, []Entry) {
	var names []string
	var entries []Entry
	first := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(m.Content); i += 2 {
		key := d.Resolve(m.Content[i])
		switch {
		case key == nil:
			continue
		case key.Kind != yaml.ScalarNode:
			d.Addf(key, path, "found %s used as a field name; field names are plain words",
				Describe(key))
			continue
		case key.ShortTag() == "!!merge":
			d.Addf(key, path, "YAML merge keys (<<) are not supported; write the fields out")
			continue
		}
		name := key.Value
		if prev, dup := first[name]; dup {
			d.Addf(key, Join(path, name), "duplicate field (first on line %d); keep only one",
				prev.Line)
			continue
		}
		first[name] = key
		names = append(names, name)
		entries = append(entries, Entry{Key: key, Value: m.Content[i+1]})
	}
	return names, entries
}

// Fields checks the keys of mapping m against s and returns the accepted ones by name.
// A missing field yields the zero Entry, whose nil Value every reader treats as absent.
func (d *Decoder) Fields(m *yaml.Node, path string, s Schema) map[string]Entry {
	names, entries := d.Pairs(m, path)
	got := make(map[string]Entry, len(entries))
	for i, name := range names {
		e := entries[i]
		switch {
		case slices.Contains(s.Fields, name):
			got[name] = e
		case s.Unsupported[name] != "":
			d.Addf(e.Key, Join(path, name), "%s", s.Unsupported[name])
		default:
			d.Addf(e.Key, path, "%s", unknownField(name, s))
			if c := suggestField(name, s); c != "" {
				d.suggested[Join(path, c)] = true
			}
		}
	}
	return got
}

// Find returns the value of the first key named name in mapping m, or nil. It is for a field
// that decides how the rest of the mapping is read (a type), before Fields checks the keys.
func Find(m *yaml.Node, name string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == name {
			return m.Content[i+1]
		}
	}
	return nil
}

// suggestField returns the field of s that name is most likely a typo of, or "".
func suggestField(name string, s Schema) string {
	if hint := s.Hints[name]; hint != "" {
		return hint
	}
	return Closest(name, s.Fields)
}

func unknownField(name string, s Schema) string {
	if c := suggestField(name, s); c != "" {
		return fmt.Sprintf("unknown field %q; did you mean %q?", name, c)
	}
	return fmt.Sprintf("unknown field %q; valid fields are: %s", name, strings.Join(s.Fields, ", "))
}

// UnknownValue says that value is not one of valid, suggesting the closest when there is one.
// what names the kind of value, as in "unknown input type".
func UnknownValue(what, value string, valid []string) string {
	if c := Closest(value, valid); c != "" {
		return fmt.Sprintf("unknown %s %q; did you mean %q?", what, value, c)
	}
	return fmt.Sprintf("unknown %s %q; use one of: %s", what, value, strings.Join(valid, ", "))
}

// IsNull reports whether n is absent or an explicit null (`key:` with nothing after it). Both
// mean "not given", as they do for az.
func IsNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// Str reads a field that holds text. Numbers and booleans are taken as written, as az does, so
// `version: 1` is "1". ok is false when the field is absent or of the wrong kind (reported); n
// is the resolved node, for later messages and to tell the two apart with IsNull.
func (d *Decoder) Str(v *yaml.Node, field string) (s string, n *yaml.Node, ok bool) {
	n = d.Resolve(v)
	if IsNull(n) {
		return "", n, false
	}
	if n.Kind != yaml.ScalarNode {
		d.Addf(n, field, "expected a string, found %s", Describe(n))
		return "", n, false
	}
	return n.Value, n, true
}

// Integer reads a field that holds a whole number; want describes it for the error message.
// Quoted numbers ("60") are refused: the file says a string, and strictness here keeps the
// CLI and the server from disagreeing about what a value means.
func (d *Decoder) Integer(v *yaml.Node, field, want string) (i int, n *yaml.Node, ok bool) {
	n = d.Resolve(v)
	if IsNull(n) {
		return 0, n, false
	}
	var x int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil ||
		int64(int(x)) != x {
		d.Addf(n, field, "expected %s, found %s", want, Describe(n))
		return 0, n, false
	}
	return int(x), n, true
}

// Boolean reads a field that holds true or false. YAML 1.1 spellings (yes, on) are refused, so
// that `optional: no` cannot mean something different here and in another tool.
func (d *Decoder) Boolean(v *yaml.Node, field string) (b bool, ok bool) {
	n := d.Resolve(v)
	if IsNull(n) {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.Addf(n, field, "expected true or false, found %s", Describe(n))
		return false, false
	}
	return b, true
}

// Mapping reads a field that holds a mapping; want describes it for the error message.
func (d *Decoder) Mapping(v *yaml.Node, field, want string) (*yaml.Node, bool) {
	n := d.Resolve(v)
	if IsNull(n) {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		d.Addf(n, field, "expected %s, found %s", want, Describe(n))
		return nil, false
	}
	return n, true
}

// StringMap reads a mapping of names to scalars (tags, environment variables), taking numbers
// and booleans as written (`DEBUG: 1` is "1"), as az does; want describes the mapping for the
// error message. checkKey, when set, says what is wrong with a key. An empty mapping is nil.
func (d *Decoder) StringMap(v *yaml.Node, field, want string,
	checkKey func(string) string) map[string]string {
	m, ok := d.Mapping(v, field, want)
	if !ok {
		return nil
	}
	names, entries := d.Pairs(m, field)
	if len(names) == 0 {
		return nil
	}
	out := make(map[string]string, len(names))
	for i, name := range names {
		if checkKey != nil {
			if msg := checkKey(name); msg != "" {
				d.Addf(entries[i].Key, field, "%s", msg)
			}
		}
		n := d.Resolve(entries[i].Value)
		switch {
		case IsNull(n):
			out[name] = ""
		case n.Kind != yaml.ScalarNode:
			d.Addf(n, Join(field, name), "expected a string, number or boolean, found %s; "+
				"quote the value to pass it as text", Describe(n))
		default:
			out[name] = n.Value
		}
	}
	return out
}

// Describe names what a node holds, for "expected X, found Y" messages.
func Describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case IsNull(n):
		return "nothing"
	}
	return strconv.Quote(Excerpt(n.Value, 40))
}

// Excerpt cuts s to at most max bytes, on a rune boundary, marking the cut with "...", so that
// a message quoting a user's value stays one readable line.
func Excerpt(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// Join appends a field name to a dotted path.
func Join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Closest returns the candidate nearest to name, or "" when none is near enough to be a likely
// typo. A difference only in case always counts: keys are case-sensitive, and `Command` for
// `command` is the commonest slip.
func Closest(name string, candidates []string) string {
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
