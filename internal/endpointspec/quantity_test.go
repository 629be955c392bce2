package endpointspec

import (
	"math/big"
	"strings"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	valid := map[string]string{
		"0":      "0",
		"2":      "2",
		"+2":     "2",
		"-1":     "-1",
		"0.5":    "1/2",
		".5":     "1/2",
		"5.":     "5",
		"500m":   "1/2",
		"1k":     "1000",
		"1M":     "1000000",
		"1E":     "1000000000000000000",
		"1Ki":    "1024",
		"1.5Gi":  "1610612736",
		"0.1Gi":  "536870912/5",
		"512Mi":  "536870912",
		"1e3":    "1000",
		"1E-2":   "1/100",
		"2e+1":   "20",
		"1000m":  "1",
		"007":    "7",
		"1e100":  "1" + strings.Repeat("0", 100),
		"12.50m": "1/80",
	}
	for s, want := range valid {
		got, ok := parseQuantity(s)
		w, _ := new(big.Rat).SetString(want)
		if !ok || got.Cmp(w) != 0 {
			t.Errorf("parseQuantity(%q) = %v, %v; want %s", s, got, ok, want)
		}
	}
	for _, s := range []string{
		"", ".", "+", "-", "m", "Gi", "1 Gi", " 1", "1 ", "1GB", "1g", "1mi", "1KI", "1e",
		"1e1.5", "1e+-1", "1e101", "1.2.3", "0x10", "1_000", "1,5", ".inf", "NaN", "2 cores",
		"1ki", "1Mi1", "--1", "1e3m",
	} {
		if got, ok := parseQuantity(s); ok {
			t.Errorf("parseQuantity(%q) = %v, want not a quantity", s, got)
		}
	}
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"500m", "1.5Gi", "1e3", ".5", "1E", "-2", "1e-100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// No panic, and whatever parses has a value that parses back the same in the
		// canonical form.
		v, ok := parseQuantity(s)
		if !ok {
			return
		}
		if v.IsInt() {
			again, ok := parseQuantity(v.Num().String())
			if !ok || again.Cmp(v) != 0 {
				t.Fatalf("parseQuantity(%q) = %v, but its integer form does not parse back", s, v)
			}
		}
	})
}
