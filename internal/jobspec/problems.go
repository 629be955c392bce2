package jobspec

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParseError lists every problem found in a job file at once, so that a user fixes them in one
// round instead of one submission per mistake.
type ParseError struct {
	Problems []Problem
}

// Problem is one thing wrong with a job file.
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
		return "invalid job file"
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

// decoder walks a job file's YAML tree into a JobSpec, collecting problems instead of stopping
// at the first, so that one run reports everything wrong with the file.
type decoder struct {
	problems []Problem
	// aliasNodes counts the nodes named by the aliases followed so far, and sizes caches the
	// size of each aliased node; see resolve.
	aliasNodes int
	sizes      map[*yaml.Node]int
	// suggested holds the fields that an unknown field was taken for ("comand" for "command"),
	// so that such a field is not also reported missing.
	suggested map[string]bool
}

// maxAliasNodes bounds the values a file may name through aliases: far more than any real job
// file, far less than a small file of nested aliases can name.
const maxAliasNodes = 100_000

func (d *decoder) addf(n *yaml.Node, field, format string, args ...any) {
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

// sortedProblems returns the problems in file order, those without a line last, without
// duplicates (a node reached through several aliases reports its problem once).
func (d *decoder) sortedProblems() []Problem {
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
