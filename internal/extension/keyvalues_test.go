package extension

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseKeyValues(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want map[string]string
	}{
		{"none", nil, map[string]string{}},
		{
			"the seed's training and inference command",
			[]string{"enableTraining=True", "enableInference=True"},
			map[string]string{"enableTraining": "True", "enableInference": "True"},
		},
		{
			"the seed's protected files",
			[]string{"sslCertPemFile=<path-to-the-SSL-cert-PEM-ile>", "sslKeyPemFile=<path-to-the-SSL-key-PEM-file>"},
			map[string]string{"sslCertPemFile": "<path-to-the-SSL-cert-PEM-ile>",
				"sslKeyPemFile": "<path-to-the-SSL-key-PEM-file>"},
		},
		{"a value with =", []string{"nodeSelector.note=a=b"}, map[string]string{"nodeSelector.note": "a=b"}},
		{"an empty value", []string{"sslCname="}, map[string]string{"sslCname": ""}},
		{"spaces kept", []string{" enableTraining = True "}, map[string]string{" enableTraining ": " True "}},
		{
			"a key repeated with the same value",
			[]string{"enableTraining=True", "enableTraining=True"},
			map[string]string{"enableTraining": "True"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseKeyValues(c.args)
			if err != nil {
				t.Fatalf("ParseKeyValues: %v", err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKeyValuesErrors(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		want  string
		codes []string
	}{
		{
			"no =",
			[]string{"enableTraining"},
			`"enableTraining" is not key=value; write settings as key=value, such as enableTraining=True.`,
			[]string{CodeNotKeyValue},
		},
		{
			"no key",
			[]string{"=True"},
			"a setting has no key before =; write settings as key=value, such as enableTraining=True.",
			[]string{CodeEmptyKey},
		},
		{
			"a key repeated with another value, whose values are not shown",
			[]string{"enableTraining=True", "enableInference=True", "enableTraining=False",
				"enableTraining=Maybe"},
			"enableTraining: given twice with different values; give it once.",
			[]string{CodeRepeatedKey},
		},
		{
			"every problem once",
			[]string{"=a", "b", "=c", "b", "k=1", "k=2"},
			`"b" is not key=value; write settings as key=value, such as enableTraining=True.` + "\n" +
				"a setting has no key before =; write settings as key=value, such as enableTraining=True.\n" +
				"k: given twice with different values; give it once.",
			[]string{CodeNotKeyValue, CodeEmptyKey, CodeRepeatedKey},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseKeyValues(c.args)
			if err == nil {
				t.Fatalf("ParseKeyValues = %v; want error:\n%s", got, c.want)
			}
			if diff := cmp.Diff(c.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, not *ValidationError", err)
			}
			var codes []string
			for _, p := range ve.Problems {
				codes = append(codes, p.Code)
			}
			if diff := cmp.Diff(c.codes, codes); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
		})
	}
}
