package strictyaml

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ReadYAML returns the file's top-level mapping, or nil when there is none to validate (the
// reason is reported). An empty file is an empty mapping, so that --set can still supply every
// field.
func (d *Decoder) ReadYAML(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return NewMapping()
	} else if err != nil {
		d.yamlError(data, err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.yamlError(data, err)
		return nil
	default:
		d.Addf(&next, "", "the file holds more than one YAML document; keep one %s per file, "+
			"and remove the --- line", d.format.Noun)
	}

	root := doc.Content[0]
	switch {
	case IsNull(root):
		return NewMapping()
	case root.Kind != yaml.MappingNode:
		d.Addf(root, "", "expected a mapping of %s fields such as %s, found %s",
			d.format.Noun, d.format.FieldsExample, Describe(root))
		return nil
	}
	return root
}

// NewMapping returns an empty mapping node.
func NewMapping() *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
}

var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// parserProblems are the yaml library's parser errors (as opposed to scanner errors). It
// reports their line 0-based, omits it on the first line, and gives the line where the
// enclosing mapping or list starts rather than the line of the mistake; see refineLine.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// yamlError reports a syntax error with the 1-based line it is on, which the yaml library gives
// only in its message and not always right.
func (d *Decoder) yamlError(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	switch m := yamlLine.FindStringSubmatch(err.Error()); {
	case m != nil:
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserProblems[msg] {
			line = refineLine(data, line+1, err.Error())
		}
	case strings.Contains(msg, "UTF-8") || strings.Contains(msg, "UTF-16") ||
		strings.Contains(msg, "Unicode") || strings.Contains(msg, "control characters"):
		line = badCharLine(data)
	case strings.HasPrefix(msg, "unknown anchor '"):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	case parserProblems[msg]:
		// The library leaves the line out when the enclosing mapping starts on the first line.
		line = refineLine(data, 1, err.Error())
	case !strings.Contains(msg, "anchor") && !strings.Contains(msg, "alias"):
		// The library leaves the line out when the error is on the first line.
		line = 1
	}
	line = min(line, lineCount(data))
	if line == 0 {
		d.problems = append(d.problems, Problem{Message: "invalid YAML: " + msg})
		return
	}
	d.problems = append(d.problems, Problem{Line: line, Message: "invalid YAML: " + msg + "; " +
		yamlHint(msg)})
}

// yamlHint says what usually causes a syntax error.
func yamlHint(msg string) string {
	switch {
	case msg == "mapping values are not allowed in this context":
		return `quote a value that contains ": ", or check the indentation`
	case strings.HasPrefix(msg, "found a tab character"):
		return "indent with spaces, not tabs"
	case msg == "found character that cannot start any token":
		return "quote a value that starts with @, ` or %, and indent with spaces, not tabs"
	case msg == "found unexpected end of stream":
		return "close the quote or bracket that starts on this line"
	case strings.HasPrefix(msg, "unknown anchor"):
		return "define the anchor (&name) before its alias (*name)"
	case strings.Contains(msg, "control characters"):
		return "remove the control character"
	case strings.Contains(msg, "UTF-8") || strings.Contains(msg, "UTF-16") ||
		strings.Contains(msg, "Unicode"):
		return "save the file as UTF-8"
	}
	return "check the indentation and quoting on this line and the one before"
}

// refineLine returns the first line, at or after from, where the file fails to parse with the
// error errText: the line of the mistake rather than the start of the mapping around it. It
// parses prefixes of the file in a binary search, so it costs a few parses even for a large
// file. Since a prefix can fail differently (cut inside a quoted string), the answer is a
// best guess, never before from.
func refineLine(data []byte, from int, errText string) int {
	var ends []int // ends[i] is the offset just past line i+1
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	lo, hi := from, len(ends)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if prefixFailsWith(data[:ends[mid-1]], errText) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// prefixFailsWith reports whether parsing data, every document of it, fails with errText.
func prefixFailsWith(data []byte, errText string) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err != nil {
			return err.Error() == errText
		}
	}
}

// badCharLine returns the line of the first byte sequence YAML refuses (invalid UTF-8 or a
// control character), or 0.
func badCharLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1,
			r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r == 0x7f, 0x80 <= r && r <= 0x9f && r != 0x85, r == 0xfffe, r == 0xffff:
			return line
		case r == '\n':
			line++
		}
		i += size
	}
	return 0
}

func lineCount(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}
