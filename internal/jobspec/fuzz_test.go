package jobspec

import (
	"errors"
	"strings"
	"testing"
)

// allErrorCases are the invalid files of every table, to seed the fuzzers.
func allErrorCases() []errorCase {
	var all []errorCase
	for _, cases := range [][]errorCase{
		parseErrorCases, inputErrorCases, outputErrorCases, resourceErrorCases,
		commandErrorCases, setErrorCases,
	} {
		all = append(all, cases...)
	}
	return all
}

func FuzzParse(f *testing.F) {
	f.Add(fullJob, "", "")
	for _, c := range validCases {
		f.Add(c.yaml, strings.Join(c.opts.Set, "\n"), c.opts.Name)
	}
	for _, c := range allErrorCases() {
		f.Add(c.yaml, strings.Join(c.opts.Set, "\n"), c.opts.Name)
	}
	f.Fuzz(func(t *testing.T, yaml, set, name string) {
		var opts Options
		if set != "" {
			opts.Set = strings.Split(set, "\n")
		}
		opts.Name = name

		spec, err := Parse([]byte(yaml), opts)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("Parse error %v (%T) is not a ParseError with problems", err, err)
			}
			for _, p := range pe.Problems {
				if p.Message == "" || p.Line < 0 {
					t.Fatalf("Parse reported a malformed problem %+v", p)
				}
			}
			return
		}
		if spec == nil || strings.TrimSpace(spec.Command) == "" {
			t.Fatalf("Parse succeeded with an empty command: %+v", spec)
		}

		// With every declared input and output, the command renders; with only the inputs
		// that are present, it renders too, since validation keeps optional inputs in $[[ ]].
		all := make(map[string]string)
		present := make(map[string]string)
		for n, in := range spec.Inputs {
			all["inputs."+n] = "v"
			if in.Present() {
				present["inputs."+n] = "v"
			}
		}
		for n := range spec.Outputs {
			all["outputs."+n] = "v"
			present["outputs."+n] = "v"
		}
		if _, err := RenderCommand(spec.Command, all); err != nil {
			t.Fatalf("RenderCommand(%q) with all values: %v", spec.Command, err)
		}
		if _, err := RenderCommand(spec.Command, present); err != nil {
			t.Fatalf("RenderCommand(%q) with the present values: %v", spec.Command, err)
		}

		for _, p := range LocalPaths(spec) {
			if p.Path == "" {
				t.Fatalf("LocalPaths gave %+v", p)
			}
		}
	})
}

func FuzzRenderCommand(f *testing.F) {
	f.Add("python train.py --data ${{inputs.data}} $[[--seed ${{inputs.seed}}]]", "inputs.data")
	f.Add("[[ -f x ]] && echo ${{ outputs.model }}", "outputs.model")
	f.Add("run $[[--a $[[--b]]]]", "")
	f.Add("run ]] ${{inputs.x", "inputs.x")
	for _, c := range allErrorCases() {
		f.Add(c.yaml, "inputs.x\ninputs.data")
	}
	f.Fuzz(func(t *testing.T, command, names string) {
		values := make(map[string]string)
		for _, n := range strings.Split(names, "\n") {
			values[n] = "<" + n + ">"
		}
		got, err := RenderCommand(command, values)

		plain := !strings.Contains(command, "${{") && !strings.Contains(command, "$[[") &&
			!strings.Contains(command, "]]")
		if plain && (err != nil || got != command) {
			t.Fatalf("RenderCommand(%q) = %q, %v; want it unchanged", command, got, err)
		}

		// Errors are syntax errors or missing values: with a value for every expression, only
		// syntax errors remain, and they are the same whatever the values.
		sections, splitErr := splitCommand(command)
		if splitErr != nil {
			if err == nil || err.Error() != splitErr.Error() {
				t.Fatalf("RenderCommand(%q) error %v, want the syntax error %v", command, err, splitErr)
			}
			return
		}
		for _, s := range sections {
			for _, p := range s.parts {
				if p.expr {
					values[p.text] = "v"
				}
			}
		}
		if _, err := RenderCommand(command, values); err != nil {
			t.Fatalf("RenderCommand(%q) with every value: %v", command, err)
		}
	})
}
