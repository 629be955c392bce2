package jobspec

import "testing"

func TestRenderCommand(t *testing.T) {
	values := map[string]string{
		"inputs.data":   "/mnt/data",
		"inputs.lr":     "0.01",
		"inputs.empty":  "",
		"outputs.model": "/mnt/model",
	}
	tests := []struct {
		name    string
		command string
		want    string
	}{{
		name:    "no expressions",
		command: "python train.py",
		want:    "python train.py",
	}, {
		name:    "inputs and outputs",
		command: "python train.py --data ${{inputs.data}} --out ${{outputs.model}}",
		want:    "python train.py --data /mnt/data --out /mnt/model",
	}, {
		name:    "spaces inside the braces",
		command: "cat ${{ inputs.data }}",
		want:    "cat /mnt/data",
	}, {
		name:    "optional section kept when its input has a value",
		command: "python train.py $[[--lr ${{inputs.lr}}]] --data ${{inputs.data}}",
		want:    "python train.py --lr 0.01 --data /mnt/data",
	}, {
		name:    "optional section dropped when its input has no value",
		command: "python train.py $[[--seed ${{inputs.seed}}]] --data ${{inputs.data}}",
		want:    "python train.py  --data /mnt/data",
	}, {
		name:    "optional section dropped when any of its inputs has no value",
		command: "run $[[--lr ${{inputs.lr}} --seed ${{inputs.seed}}]]",
		want:    "run ",
	}, {
		name:    "an empty value is a value",
		command: "run $[[--x=${{inputs.empty}}]]",
		want:    "run --x=",
	}, {
		name:    "optional section without expressions is kept",
		command: "run $[[--verbose]]",
		want:    "run --verbose",
	}, {
		name:    "bash tests pass through",
		command: "[[ -d ${{inputs.data}} ]] && ls $[[ [[ -n x ]] ${{inputs.lr}}]]",
		want:    "[[ -d /mnt/data ]] && ls  [[ -n x ]] 0.01",
	}, {
		name:    "substituted values are not expanded again",
		command: "echo ${{inputs.data}}",
		want:    "echo /mnt/data",
	}, {
		name:    "single braces and brackets are text",
		command: "echo ${HOME} {{x}} $[x] } ]",
		want:    "echo ${HOME} {{x}} $[x] } ]",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderCommand(tt.command, values)
			if err != nil {
				t.Fatalf("RenderCommand: %v", err)
			}
			if got != tt.want {
				t.Errorf("RenderCommand = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("values holding expressions stay as they are", func(t *testing.T) {
		got, err := RenderCommand("echo ${{inputs.a}}", map[string]string{"inputs.a": "${{inputs.b}}"})
		if err != nil || got != "echo ${{inputs.b}}" {
			t.Errorf("RenderCommand = %q, %v; want %q", got, err, "echo ${{inputs.b}}")
		}
	})
}

func TestRenderCommandErrors(t *testing.T) {
	tests := []struct {
		name    string
		command string
		want    string
	}{{
		name:    "expression without a value outside $[[ ]]",
		command: "python train.py --seed ${{inputs.seed}}",
		want: "${{inputs.seed}} has no value; give it one, or put it inside $[[ ]] so that part " +
			"of the command is left out without it",
	}, {
		name:    "unclosed expression",
		command: "python train.py --data ${{inputs.data",
		want:    `the expression "${{inputs.data" has no closing }}; close it, as in ${{inputs.data}}`,
	}, {
		name:    "unclosed optional section",
		command: "python train.py $[[--seed ${{inputs.seed}}",
		want: `the optional section "$[[--seed ${{inputs.seed}}" has no closing ]]; end it ` +
			`with ]]`,
	}, {
		name:    "stray closing brackets",
		command: "python train.py --seed 1]]",
		want:    "found ]] with no $[[ before it; remove it, or start the optional section with $[[",
	}, {
		name:    "nested optional sections",
		command: "run $[[--a $[[--b]]]]",
		want: `$[[ inside the optional section "$[[--a $[[--b]]]]"; optional sections cannot be ` +
			`nested, so close the first with ]] before opening another`,
	}, {
		name:    "long text is cut in messages",
		command: "run $[[--a " + "0123456789012345678901234567890123456789",
		want: `the optional section "$[[--a 01234567890123456789012..." has no closing ]]; ` +
			`end it with ]]`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderCommand(tt.command, map[string]string{"inputs.data": "x"})
			if err == nil {
				t.Fatalf("RenderCommand = %q, want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("RenderCommand error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

var commandErrorCases = []errorCase{{
	name: "undeclared input",
	yaml: "command: python train.py --lr ${{inputs.lr}}\ninputs:\n  data: {path: ./d}\n" +
		"  epochs: 3\n",
	want: "line 1: command: ${{inputs.lr}} names an undeclared input; declare lr under " +
		"inputs, or use one of: data, epochs",
}, {
	name: "undeclared input in a job without inputs",
	yaml: "command: python train.py --lr ${{inputs.lr}}\n",
	want: "line 1: command: ${{inputs.lr}} names an undeclared input; declare lr under " +
		"inputs (the job declares none)",
}, {
	name: "undeclared output",
	yaml: "command: python train.py --out ${{outputs.model}}\noutputs:\n  metrics:\n",
	want: "line 1: command: ${{outputs.model}} names an undeclared output; declare model " +
		"under outputs, or use one of: metrics",
}, {
	name: "undeclared output in a job without outputs",
	yaml: "command: python train.py --out ${{outputs.model}}\n",
	want: "line 1: command: ${{outputs.model}} names an undeclared output; declare model " +
		"under outputs (the job declares none)",
}, {
	name: "search space expression",
	yaml: "command: python train.py --lr ${{search_space.lr}}\n",
	want: "line 1: command: ${{search_space.lr}} is not supported in a command job; use " +
		"${{inputs.<name>}} or ${{outputs.<name>}}",
}, {
	name: "bare inputs expression",
	yaml: "command: echo ${{inputs}}\n",
	want: "line 1: command: ${{inputs}} is not supported in a command job; use " +
		"${{inputs.<name>}} or ${{outputs.<name>}}",
}, {
	name: "optional input outside $[[ ]]",
	yaml: "command: python train.py --seed ${{inputs.seed}}\ninputs:\n  seed:\n" +
		"    type: integer\n    optional: true\n",
	want: "line 1: command: ${{inputs.seed}} uses optional input seed outside $[[ ]]; put " +
		"that part of the command inside $[[ ]] so it is left out when seed has no value, " +
		"or remove optional: true",
}, {
	name: "unbalanced $[[",
	yaml: "command: python train.py $[[--seed 1\n",
	want: `line 1: command: the optional section "$[[--seed 1" has no closing ]]; end it ` +
		`with ]]`,
}, {
	name: "unbalanced ]]",
	yaml: "command: python train.py --seed 1]]\n",
	want: "line 1: command: found ]] with no $[[ before it; remove it, or start the optional " +
		"section with $[[",
}, {
	name: "the same mistake twice is reported once",
	yaml: "command: echo ${{inputs.x}} ${{inputs.x}}\n",
	want: "line 1: command: ${{inputs.x}} names an undeclared input; declare x under inputs " +
		"(the job declares none)",
}, {
	name: "expressions are checked in a block scalar",
	yaml: "name: a\ncommand: |\n  echo ${{inputs.x}}\n",
	want: "line 2: command: ${{inputs.x}} names an undeclared input; declare x under inputs " +
		"(the job declares none)",
}}

func TestCommandErrors(t *testing.T) {
	checkErrors(t, commandErrorCases)
}

func TestMalformedExpressionIsNamed(t *testing.T) {
	_, err := Parse([]byte("command: echo ${{inputs.a} and ${{ inputs.a }}\ninputs:\n  a: 1\n"), Options{})
	want := `line 1: command: the expression "${{inputs.a} and ${{ inputs.a }}" is not one name; write it as ${{inputs.<name>}} or ${{outputs.<name>}}, and check its braces`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
