package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/jmespath/go-jmespath"
	"go.yaml.in/yaml/v3"
)

// Output formats, as az names them. jsonc and yamlc are az's coloured variants, printed
// here without colour; none prints nothing.
const (
	formatJSON  = "json"
	formatJSONC = "jsonc"
	formatYAML  = "yaml"
	formatYAMLC = "yamlc"
	formatTable = "table"
	formatTSV   = "tsv"
	formatNone  = "none"
)

// textOnly refuses -o and --query for a command that prints text (logs), rather than
// ignoring them.
func (g *globalOptions) textOnly(cmd interface{ CommandPath() string }) error {
	if g.output != formatJSON || g.query != "" {
		return usageErrorf("%s prints text; -o and --query do not apply to it", cmd.CommandPath())
	}
	return nil
}

// checkOutput checks -o and --query.
func (g *globalOptions) checkOutput() error {
	switch g.output {
	case formatJSON, formatJSONC, formatYAML, formatYAMLC, formatTable, formatTSV, formatNone:
	default:
		return usageErrorf("--output %q is not a format; use json, yaml, table, tsv or none", g.output)
	}
	if g.query != "" {
		if _, err := jmespath.Compile(g.query); err != nil {
			return usageErrorf("--query %q is not a valid JMESPath expression: %v", g.query, err)
		}
	}
	return nil
}

// table is how a resource prints with -o table: headers and one row per item.
type table struct {
	headers []string
	rows    [][]string
}

// printResult writes v in the format the user chose, after applying the --query JMESPath
// expression. tableOf gives the resource's own table; with a query, or without tableOf, the
// table is built from the result's fields.
func (g *globalOptions) printResult(w io.Writer, v any, tableOf func() table) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return err
	}
	if err := g.checkOutput(); err != nil {
		return err
	}
	if g.query != "" {
		if generic, err = jmespath.Search(g.query, generic); err != nil {
			return fmt.Errorf("--query %q: %v", g.query, err)
		}
		tableOf = nil
	}
	switch g.output {
	case formatNone:
		return nil
	case formatJSON, formatJSONC:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(generic)
	case formatYAML, formatYAMLC:
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		defer enc.Close()
		return enc.Encode(generic)
	case formatTSV:
		return writeTSV(w, generic)
	case formatTable:
		t := genericTable(generic)
		if tableOf != nil {
			t = tableOf()
		}
		return writeTable(w, t)
	}
	return nil
}

func writeTable(w io.Writer, t table) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(t.headers) > 0 {
		fmt.Fprintln(tw, strings.Join(t.headers, "\t"))
		dashes := make([]string, len(t.headers))
		for i, h := range t.headers {
			dashes[i] = strings.Repeat("-", len(h))
		}
		fmt.Fprintln(tw, strings.Join(dashes, "\t"))
	}
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// genericTable lays out a query result: a list of objects gives a column per scalar field,
// an object gives one row, scalars give one column.
func genericTable(v any) table {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var t table
	var keys []string
	seen := map[string]bool{}
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			for k, val := range m {
				if isScalar(val) && !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		t.headers = []string{"Result"}
		for _, it := range items {
			t.rows = append(t.rows, []string{scalarText(it)})
		}
		return t
	}
	t.headers = keys
	for _, it := range items {
		m, _ := it.(map[string]any)
		row := make([]string, len(keys))
		for i, k := range keys {
			row[i] = scalarText(m[k])
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// writeTSV writes scalars one per line and objects as tab-separated scalar values in field
// order, as az's tsv output does.
func writeTSV(w io.Writer, v any) error {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	for _, it := range items {
		var fields []string
		if row, ok := it.([]any); ok {
			for _, v := range row {
				fields = append(fields, scalarText(v))
			}
		} else if m, ok := it.(map[string]any); ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if isScalar(m[k]) {
					fields = append(fields, scalarText(m[k]))
				}
			}
		} else {
			fields = []string{scalarText(it)}
		}
		if _, err := fmt.Fprintln(w, strings.Join(fields, "\t")); err != nil {
			return err
		}
	}
	return nil
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// cellEscaper keeps one value in one cell of a tab-separated or table row.
var cellEscaper = strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`)

func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return cellEscaper.Replace(x)
	case float64, bool:
		return fmt.Sprint(x)
	}
	data, _ := json.Marshal(v)
	return string(data)
}
