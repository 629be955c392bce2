package strictyaml

import (
	"strconv"
	"strings"
)

// ParseError lists every problem found in a file at once, so that a user fixes them in one
// round instead of one submission per mistake.
type ParseError struct {
	Problems []Problem
}

// Problem is one thing wrong with a file.
type Problem struct {
	// Line is the 1-based line in the file, 0 when unknown (a value from --set, a missing field).
	Line int
	// Field is the dotted path of the field, such as "inputs.data.path", "" for the whole file.
	Field string
	// Message is a sentence that says what is wrong and what to do.
	Message string
}

// Error returns one problem per line, as "line 7: inputs.data.path: <message>".
func (e *ParseError) Error() string {
	if len(e.Problems) == 0 {
		// The decoders never return a ParseError without problems; this is for a hand-made one.
		return "invalid file"
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.text()
	}
	return strings.Join(lines, "\n")
}

func (p Problem) text() string {
	var b strings.Builder
	if p.Line > 0 {
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}
