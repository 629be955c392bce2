package cli

import (
	"bytes"
	"errors"
	"testing"
)

type sample struct {
	Name   string   `json:"name"`
	Status string   `json:"status"`
	Tags   []string `json:"tags"`
}

func TestPrintResultFormats(t *testing.T) {
	items := []sample{{"a", "Completed", []string{"x"}}, {"b", "Failed", nil}}
	ownTable := func() table { return table{headers: []string{"Name"}, rows: [][]string{{"a"}, {"b"}}} }
	tests := []struct {
		output, query string
		want          string
	}{
		{"json", "", "[\n  {\n    \"name\": \"a\",\n    \"status\": \"Completed\",\n    \"tags\": [\n      \"x\"\n    ]\n  },\n  {\n    \"name\": \"b\",\n    \"status\": \"Failed\",\n    \"tags\": null\n  }\n]\n"},
		{"json", "[].name", "[\n  \"a\",\n  \"b\"\n]\n"},
		{"yaml", "[0]", "name: a\nstatus: Completed\ntags:\n  - x\n"},
		{"tsv", "", "a\tCompleted\nb\tFailed\t\n"},
		{"tsv", "[?status=='Failed'].name", "b\n"},
		{"table", "", "Name\n----\na\nb\n"},
		{"table", "[].{n:name,s:status}", "n  s\n-  -\na  Completed\nb  Failed\n"},
		{"tsv", "[].[name,status]", "a\tCompleted\nb\tFailed\n"},
		{"none", "", ""},
		{"jsonc", "[0].name", "\"a\"\n"},
	}
	for _, tt := range tests {
		g := &globalOptions{output: tt.output, query: tt.query}
		var buf bytes.Buffer
		if err := g.printResult(&buf, items, ownTable); err != nil {
			t.Fatalf("-o %s --query %q: %v", tt.output, tt.query, err)
		}
		if buf.String() != tt.want {
			t.Errorf("-o %s --query %q:\n%s\nwant:\n%s", tt.output, tt.query, buf.String(), tt.want)
		}
	}
}

func TestPrintResultBadInput(t *testing.T) {
	tests := []struct {
		output, query string
		want          string
	}{
		{"xml", "", `--output "xml" is not a format; use json, yaml, table, tsv or none`},
		{"json", "[?", `--query "[?" is not a valid JMESPath expression: SyntaxError: Incomplete expression`},
	}
	for _, tt := range tests {
		g := &globalOptions{output: tt.output, query: tt.query}
		err := g.printResult(&bytes.Buffer{}, []sample{}, nil)
		if err == nil || err.Error() != tt.want || exitCode(err) != ExitUsage {
			t.Errorf("-o %s --query %q: %v (exit %d), want %q", tt.output, tt.query, err, exitCode(err), tt.want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	if exitCode(nil) != ExitOK || exitCode(errors.New("x")) != ExitFailure ||
		exitCode(usageErrorf("bad")) != ExitUsage || exitCode(errors.New("unknown flag: --nope")) != ExitUsage {
		t.Fatal("exit codes do not map as documented")
	}
}
