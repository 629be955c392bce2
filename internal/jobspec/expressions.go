package jobspec

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "berth/api/v1"
	"berth/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// A command refers to its inputs and outputs with ${{inputs.<name>}} and ${{outputs.<name>}},
// as in Azure ML. Text inside $[[ ... ]] is optional: it is kept (without the brackets) when
// every expression in it has a value, and dropped whole otherwise, so that
// `python train.py $[[--seed ${{inputs.seed}}]]` works with and without a seed.
//
// A bare [[ ... ]] (a bash test) nests inside either kind of text, so that its ]] does not end
// an optional section nor count as a stray one.

// part is a run of literal text, or one ${{ }} expression.
type part struct {
	// text is the literal text, or the expression with surrounding spaces trimmed
	// ("inputs.data").
	text string
	expr bool
}

// section is a run of parts that is always rendered, or an optional $[[ ]] section.
type section struct {
	optional bool
	parts    []part
}

// splitCommand cuts a command into sections of text and expressions. It fails on an unclosed
// ${{ or $[[, a nested $[[ and a ]] that closes nothing.
func splitCommand(command string) ([]section, error) {
	var sections []section
	var cur section
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			cur.parts = append(cur.parts, part{text: text.String()})
			text.Reset()
		}
	}
	// depth counts the bare [[ open in the current section; outer is the count outside the
	// optional section being read.
	depth, outer, start := 0, 0, 0
	for i := 0; i < len(command); {
		rest := command[i:]
		switch {
		case strings.HasPrefix(rest, "${{"):
			end := strings.Index(rest[3:], "}}")
			if end < 0 {
				return nil, fmt.Errorf("the expression %q has no closing }}; close it, "+
					"as in ${{inputs.data}}", strictyaml.Excerpt(rest, 30))
			}
			expr := strings.TrimSpace(rest[3 : 3+end])
			if expr == "" || strings.ContainsAny(expr, "{}$ \t\n") {
				return nil, fmt.Errorf("the expression %q is not one name; write it as "+
					"${{inputs.<name>}} or ${{outputs.<name>}}, and check its braces",
					strictyaml.Excerpt(rest[:3+end+2], 40))
			}
			flush()
			cur.parts = append(cur.parts, part{text: expr, expr: true})
			i += 3 + end + 2
		case strings.HasPrefix(rest, "$[["):
			if cur.optional {
				return nil, fmt.Errorf("$[[ inside the optional section %q; optional sections "+
					"cannot be nested, so close the first with ]] before opening another",
					strictyaml.Excerpt(command[start:], 30))
			}
			flush()
			sections = appendSection(sections, cur)
			cur = section{optional: true}
			outer, depth, start = depth, 0, i
			i += 3
		case strings.HasPrefix(rest, "[["):
			depth++
			text.WriteString("[[")
			i += 2
		case strings.HasPrefix(rest, "]]") && depth > 0:
			depth--
			text.WriteString("]]")
			i += 2
		case strings.HasPrefix(rest, "]]"):
			if !cur.optional {
				return nil, errors.New("found ]] with no $[[ before it; remove it, or start " +
					"the optional section with $[[")
			}
			flush()
			sections = appendSection(sections, cur)
			cur = section{}
			depth = outer
			i += 2
		default:
			text.WriteByte(command[i])
			i++
		}
	}
	if cur.optional {
		return nil, fmt.Errorf("the optional section %q has no closing ]]; end it with ]]",
			strictyaml.Excerpt(command[start:], 30))
	}
	flush()
	return appendSection(sections, cur), nil
}

func appendSection(sections []section, s section) []section {
	if len(s.parts) == 0 && !s.optional {
		return sections
	}
	return append(sections, s)
}

// RenderCommand substitutes ${{inputs.x}} and ${{outputs.y}} in command. values maps
// "inputs.x" and "outputs.y" to their values; an input missing from values is absent. Text
// inside $[[ ... ]] is kept without the brackets when every expression in it has a value, and
// dropped whole when any has none. An expression outside $[[ ]] without a value is an error
// naming it. Values are inserted as they are, not quoted: the command is the user's shell text.
func RenderCommand(command string, values map[string]string) (string, error) {
	sections, err := splitCommand(command)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range sections {
		if s.optional && !allHaveValues(s, values) {
			continue
		}
		for _, p := range s.parts {
			if !p.expr {
				b.WriteString(p.text)
				continue
			}
			v, ok := values[p.text]
			if !ok {
				return "", fmt.Errorf("${{%s}} has no value; give it one, or put it inside "+
					"$[[ ]] so that part of the command is left out without it", p.text)
			}
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

func allHaveValues(s section, values map[string]string) bool {
	for _, p := range s.parts {
		if _, ok := values[p.text]; p.expr && !ok {
			return false
		}
	}
	return true
}

// checkCommand reports the expressions in command that cannot be rendered: syntax errors,
// expressions other than inputs and outputs, undeclared names, and optional inputs used
// outside $[[ ]] (which would leave a hole in the command when the input is absent).
func (d *decoder) checkCommand(command string, n *yaml.Node, inputs map[string]v1.JobInput,
	outputs map[string]v1.JobOutput) {
	sections, err := splitCommand(command)
	if err != nil {
		d.Addf(n, "command", "%s", err.Error())
		return
	}
	reported := make(map[string]bool)
	report := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if !reported[msg] {
			reported[msg] = true
			d.Addf(n, "command", "%s", msg)
		}
	}
	for _, s := range sections {
		for _, p := range s.parts {
			if !p.expr {
				continue
			}
			kind, name, _ := strings.Cut(p.text, ".")
			switch {
			case kind == "inputs" && name != "":
				in, ok := inputs[name]
				switch {
				case !ok:
					report("%s", undeclared(p.text, "input", name, keys(inputs)))
				case in.Optional && !s.optional:
					report("${{%s}} uses optional input %s outside $[[ ]]; put that part of the "+
						"command inside $[[ ]] so it is left out when %s has no value, or remove "+
						"optional: true", p.text, name, name)
				}
			case kind == "outputs" && name != "":
				if _, ok := outputs[name]; !ok {
					report("%s", undeclared(p.text, "output", name, keys(outputs)))
				}
			default:
				report("${{%s}} is not supported in a command job; use ${{inputs.<name>}} or "+
					"${{outputs.<name>}}", p.text)
			}
		}
	}
}

func undeclared(expr, what, name string, declared []string) string {
	if len(declared) == 0 {
		return fmt.Sprintf("${{%s}} names an undeclared %s; declare %s under %ss (the job "+
			"declares none)", expr, what, name, what)
	}
	return fmt.Sprintf("${{%s}} names an undeclared %s; declare %s under %ss, or use one of: %s",
		expr, what, name, what, strings.Join(declared, ", "))
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
