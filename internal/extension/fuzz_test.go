package extension

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"berth/internal/strictyaml"
	"github.com/google/go-cmp/cmp"
)

// Fuzz inputs hold settings as key=value records separated by NUL: values (PEM files) hold
// newlines, and keys and values from the CLI never hold NUL.
func encodeSettings(m map[string]string) string {
	var recs []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		recs = append(recs, k+"="+m[k])
	}
	return strings.Join(recs, "\x00")
}

func decodeSettings(s string) map[string]string {
	m := make(map[string]string)
	if s == "" {
		return m
	}
	for _, rec := range strings.Split(s, "\x00") {
		k, v, _ := strings.Cut(rec, "=")
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}

// seedCommands are the settings of the seed's az k8s-extension create commands as written
// (the NodePort HTTP command's Ture, the missing space before --resource-group), then the
// table's ssKeyPMFile; plain and protected.
var seedCommands = func() [][2]string {
	files := "sslCertPemFile=<path-to-the-SSL-cert-PEM-ile>\x00" +
		"sslKeyPemFile=<path-to-the-SSL-key-PEM-file>"
	return [][2]string{
		{"enableTraining=True", ""},
		{"enableInference=True", files},
		{"enableInference=True\x00allowInsecureConnections=True", ""},
		{"enableInference=True\x00privateEndpointILB=True", files},
		{"enableInference=True\x00privateEndpointILB=True\x00allowInsecureConnections=True", ""},
		{"enableInference=True\x00privateEndpointNodeport=True", files},
		{"enableInference=True\x00privateEndpointNodeport=True\x00" +
			"allowInsecureConnections=Ture", ""},
		{"enableTraining=True\x00enableInference=True", files + "--resource-group"},
		{"enableTraining=True\x00ssKeyPMFile=x\x00logAnalyticsWS=False\x00" +
			"installNvidiaDevicePlugin=True\x00openshift=True", ""},
	}
}()

func FuzzParse(f *testing.F) {
	for _, c := range seedCommands {
		f.Add(c[0], c[1])
	}
	for _, c := range validCases(f) {
		f.Add(encodeSettings(c.plain), encodeSettings(c.protected))
	}
	for _, c := range errorCases(f) {
		f.Add(encodeSettings(c.plain), encodeSettings(c.protected))
	}

	f.Fuzz(func(t *testing.T, plainText, protectedText string) {
		plain, protected := decodeSettings(plainText), decodeSettings(protectedText)
		cfg, notices, err := testParser.Parse(plain, protected)

		cfg2, notices2, err2 := testParser.Parse(plain, protected)
		if diff := cmp.Diff(cfg, cfg2); diff != "" {
			t.Fatalf("Parse is not deterministic: Config (-first +second):\n%s", diff)
		}
		if diff := cmp.Diff(notices, notices2); diff != "" {
			t.Fatalf("Parse is not deterministic: notices (-first +second):\n%s", diff)
		}
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("Parse is not deterministic: %v, then %v", err, err2)
		}

		for _, n := range notices {
			checkReport(t, n.Code, n.Message)
		}
		if err != nil {
			checkError(t, err)
			checkProtectedHidden(t, err.Error(), plain, protected)
			return
		}
		checkConfig(t, cfg)
	})
}

// checkError checks the shape of a ValidationError: problems, codes, one line each, sorted.
func checkError(t *testing.T, err error) {
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) == 0 {
		t.Fatalf("error %v (%T) is not a ValidationError with problems", err, err)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(ve.Problems) {
		t.Fatalf("%d problems give %d lines:\n%s", len(ve.Problems), len(lines), err)
	}
	for i, p := range ve.Problems {
		checkReport(t, p.Code, p.Message)
		if i > 0 {
			prev := ve.Problems[i-1]
			if prev.Key > p.Key || prev.Key == p.Key && prev.Message > p.Message {
				t.Fatalf("problems out of order: %+v before %+v", prev, p)
			}
		}
	}
}

// checkReport checks a problem's or a notice's code and message.
func checkReport(t *testing.T, code, message string) {
	if code == "" || code[0] < 'A' || code[0] > 'Z' || strings.ContainsFunc(code, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		t.Fatalf("code %q is not CamelCase", code)
	}
	if message == "" || strings.Contains(message, "\n") {
		t.Fatalf("%s: message %q is empty or has a newline", code, message)
	}
}

// checkProtectedHidden checks that no protected value is quoted, unless the same text was
// given where it may show (a key, a plain value).
func checkProtectedHidden(t *testing.T, text string, plain, protected map[string]string) {
	shown := func(s string) bool {
		for k, v := range plain {
			if strings.Contains(k, s) || v == s {
				return true
			}
		}
		for k := range protected {
			if strings.Contains(k, s) {
				return true
			}
		}
		return false
	}
	for k, v := range protected {
		q := strconv.Quote(strictyaml.Excerpt(v, 60))
		if strings.Contains(text, q) && !shown(v) && !shown(strictyaml.Excerpt(v, 60)) {
			t.Fatalf("the protected value of %q shows in:\n%s", k, text)
		}
	}
}

// checkConfig checks what every accepted Config holds.
func checkConfig(t *testing.T, c Config) {
	if !c.Training && !c.Inference {
		t.Fatalf("accepted a Config with neither training nor inference: %+v", c)
	}
	if c.RouterReplicas != 1 && c.RouterReplicas != 3 {
		t.Fatalf("RouterReplicas = %d", c.RouterReplicas)
	}
	if _, ok := map[string]bool{ServiceLoadBalancer: true, ServiceNodePort: true,
		ServiceClusterIP: true}[c.RouterServiceType]; !ok {
		t.Fatalf("RouterServiceType = %q", c.RouterServiceType)
	}
	if c.InternalLB != "" && c.RouterServiceType != ServiceLoadBalancer {
		t.Fatalf("internal load balancer %q with %s", c.InternalLB, c.RouterServiceType)
	}
	if !c.Inference {
		if c.TLSCert != "" || c.TLSKey != "" || c.TLSSecret != "" || c.AllowInsecure {
			t.Fatalf("inference settings kept with inference off: %+v", c)
		}
		return
	}
	tls := c.TLSCert != "" && c.TLSKey != "" && c.TLSSecret == "" ||
		c.TLSSecret != "" && c.TLSCert == "" && c.TLSKey == ""
	if !tls && !c.AllowInsecure || !tls && (c.TLSCert != "" || c.TLSKey != "" || c.TLSSecret != "") {
		t.Fatalf("accepted inference without whole, single-source TLS or HTTP: %+v", c)
	}
}

func FuzzParseKeyValues(f *testing.F) {
	for _, c := range seedCommands {
		f.Add(c[0])
		f.Add(c[1])
	}
	f.Add("=a\x00b\x00k=1\x00k=2")
	f.Add("nodeSelector.note=a=b\x00sslCname=")

	f.Fuzz(func(t *testing.T, argsText string) {
		var args []string
		if argsText != "" {
			args = strings.Split(argsText, "\x00")
		}
		kv, err := ParseKeyValues(args)
		kv2, err2 := ParseKeyValues(args)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() ||
			!maps.Equal(kv, kv2) {
			t.Fatalf("ParseKeyValues is not deterministic")
		}
		if err != nil {
			checkError(t, err)
			return
		}
		if len(kv) > len(args) {
			t.Fatalf("%d arguments gave %d settings", len(args), len(kv))
		}
		for _, a := range args {
			k, v, ok := strings.Cut(a, "=")
			if !ok || k == "" || kv[k] != v {
				t.Fatalf("argument %q accepted as %q=%q", a, k, kv[k])
			}
		}
	})
}
