package extension

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// defaults is the Config of settings that only enable something: what each case changes.
func defaults(change func(*Config)) Config {
	c := Config{
		RouterServiceType:         ServiceLoadBalancer,
		RouterReplicas:            3,
		InstallNvidiaDevicePlugin: true,
	}
	change(&c)
	return c
}

// tlsFiles are the protected settings of the seed's HTTPS commands.
func tlsFiles(t testing.TB) map[string]string {
	return map[string]string{"sslCertPemFile": validCert(t), "sslKeyPemFile": validKey(t)}
}

type validCase struct {
	name      string
	plain     map[string]string
	protected map[string]string
	want      Config
	notices   []Notice
}

func validCases(t testing.TB) []validCase {
	cert, key := validCert(t), validKey(t)
	https := func(c *Config) { c.Inference, c.TLSCert, c.TLSKey = true, cert, key }
	return []validCase{
		// The seed's commands, in its order, with the NodePort HTTP command's Ture corrected.
		{
			name:  "seed: training",
			plain: map[string]string{"enableTraining": "True"},
			want:  defaults(func(c *Config) { c.Training = true }),
		},
		{
			name:      "seed: inference, public load balancer, HTTPS",
			plain:     map[string]string{"enableInference": "True"},
			protected: tlsFiles(t),
			want:      defaults(https),
		},
		{
			name:  "seed: inference, public load balancer, HTTP",
			plain: map[string]string{"enableInference": "True", "allowInsecureConnections": "True"},
			want:  defaults(func(c *Config) { c.Inference, c.AllowInsecure = true, true }),
		},
		{
			name:      "seed: inference, internal load balancer, HTTPS",
			plain:     map[string]string{"enableInference": "True", "privateEndpointILB": "True"},
			protected: tlsFiles(t),
			want:      defaults(func(c *Config) { https(c); c.InternalLB = InternalLBAuto }),
		},
		{
			name: "seed: inference, internal load balancer, HTTP",
			plain: map[string]string{"enableInference": "True", "privateEndpointILB": "True",
				"allowInsecureConnections": "True"},
			want: defaults(func(c *Config) {
				c.Inference, c.AllowInsecure, c.InternalLB = true, true, InternalLBAuto
			}),
		},
		{
			name:      "seed: inference, NodePort, HTTPS",
			plain:     map[string]string{"enableInference": "True", "privateEndpointNodeport": "True"},
			protected: tlsFiles(t),
			want:      defaults(func(c *Config) { https(c); c.RouterServiceType = ServiceNodePort }),
		},
		{
			name: "seed: inference, NodePort, HTTP (Ture corrected)",
			plain: map[string]string{"enableInference": "True", "privateEndpointNodeport": "True",
				"allowInsecureConnections": "True"},
			want: defaults(func(c *Config) {
				c.Inference, c.AllowInsecure, c.RouterServiceType = true, true, ServiceNodePort
			}),
		},
		{
			name:      "seed: training and inference, HTTPS",
			plain:     map[string]string{"enableTraining": "True", "enableInference": "True"},
			protected: tlsFiles(t),
			want:      defaults(func(c *Config) { https(c); c.Training = true }),
		},

		// Today's names and the other settings.
		{
			name: "today's names, values in any case",
			plain: map[string]string{"enableInference": "TRUE", "allowInsecureConnections": "true",
				"inferenceRouterServiceType": "LoadBalancer", "internalLoadBalancerProvider": "AWS",
				"inferenceRouterHA": "tRUE"},
			want: defaults(func(c *Config) {
				c.Inference, c.AllowInsecure, c.InternalLB = true, true, InternalLBAWS
				c.RouterHAExplicit, c.RouterHASetting = true, "inferenceRouterHA"
			}),
		},
		{
			name: "nodePort and one router replica",
			plain: map[string]string{"enableInference": "True", "allowInsecureConnections": "True",
				"inferenceRouterServiceType": "nodeport", "inferenceRouterHA": "False"},
			want: defaults(func(c *Config) {
				c.Inference, c.AllowInsecure, c.RouterServiceType = true, true, ServiceNodePort
				c.RouterReplicas, c.RouterHASetting = 1, "inferenceRouterHA"
			}),
		},
		{
			name: "clusterIP and the seed's HA name",
			plain: map[string]string{"enableInference": "True", "allowInsecureConnections": "True",
				"inferenceRouterServiceType": "clusterIP", "inferenceLoadBalancerHA": "True"},
			want: defaults(func(c *Config) {
				c.Inference, c.AllowInsecure, c.RouterServiceType = true, true, ServiceClusterIP
				c.RouterHAExplicit, c.RouterHASetting = true, "inferenceLoadBalancerHA"
			}),
		},
		{
			name: "the seed's NodePort and ILB settings set to False",
			plain: map[string]string{"enableInference": "True", "allowInsecureConnections": "True",
				"privateEndpointNodeport": "False", "privateEndpointILB": "false"},
			want: defaults(func(c *Config) { c.Inference, c.AllowInsecure = true, true }),
		},
		{
			name: "sslSecret and a host name",
			plain: map[string]string{"enableInference": "True", "sslSecret": "scoring-tls",
				"sslCname": "ML.Example.com"},
			want: defaults(func(c *Config) {
				c.Inference, c.TLSSecret, c.CName = true, "scoring-tls", "ML.Example.com"
			}),
		},
		{
			name:      "a host name the certificate covers",
			plain:     map[string]string{"enableInference": "True", "sslCname": "ml.example.com"},
			protected: tlsFiles(t),
			want:      defaults(func(c *Config) { https(c); c.CName = "ml.example.com" }),
		},
		{
			name:      "the certificate in the plain settings",
			plain:     map[string]string{"enableInference": "True", "sslCertPemFile": cert},
			protected: map[string]string{"sslKeyPemFile": key},
			want:      defaults(https),
		},
		{
			name: "the other settings",
			plain: map[string]string{"enableTraining": "True", "installNvidiaDevicePlugin": "False",
				"openshift": "True", "logAnalyticsWS": "True", "installPromOp": "True",
				"nodeSelector.kubernetes.io/os": "linux", "nodeSelector.gpu": ""},
			want: defaults(func(c *Config) {
				c.Training, c.InstallNvidiaDevicePlugin = true, false
				c.OpenShift, c.OpenShiftExplicit = true, true
				c.LogAnalytics, c.InstallPrometheus = true, true
				c.NodeSelector = map[string]string{"kubernetes.io/os": "linux", "gpu": ""}
			}),
		},
		{
			name:      "protected settings other than files",
			plain:     map[string]string{"enableTraining": "True"},
			protected: map[string]string{"openshift": "False", "nodeSelector.pool": "ml"},
			want: defaults(func(c *Config) {
				c.Training, c.OpenShiftExplicit = true, true
				c.NodeSelector = map[string]string{"pool": "ml"}
			}),
		},

		// Notices.
		{
			name: "inference settings with inference off",
			plain: map[string]string{"enableTraining": "True", "enableInference": "False",
				"allowInsecureConnections": "True", "privateEndpointILB": "True",
				"inferenceRouterHA": "False"},
			want: defaults(func(c *Config) { c.Training = true }),
			notices: []Notice{{CodeInferenceSettingsIgnored, "inference is not enabled, so these " +
				"settings are ignored: allowInsecureConnections, privateEndpointILB, " +
				"inferenceRouterHA; set enableInference=True to use them."}},
		},
		{
			name:      "TLS files with inference not given",
			plain:     map[string]string{"enableTraining": "True"},
			protected: tlsFiles(t),
			want:      defaults(func(c *Config) { c.Training = true }),
			notices: []Notice{{CodeInferenceSettingsIgnored, "inference is not enabled, so these " +
				"settings are ignored: sslCertPemFile, sslKeyPemFile; set enableInference=True to " +
				"use them."}},
		},
		{
			name:      "allowInsecureConnections with TLS files",
			plain:     map[string]string{"enableInference": "True", "allowInsecureConnections": "True"},
			protected: tlsFiles(t),
			want:      defaults(func(c *Config) { https(c); c.AllowInsecure = true }),
			notices: []Notice{{CodeInsecureIgnored, "TLS material is given, so scoring uses HTTPS " +
				"and allowInsecureConnections=True has no effect."}},
		},
		{
			name:      "a host name the certificate does not cover",
			plain:     map[string]string{"enableInference": "True", "sslCname": "scoring.example.org"},
			protected: tlsFiles(t),
			want:      defaults(func(c *Config) { https(c); c.CName = "scoring.example.org" }),
			notices: []Notice{{CodeCNameNotInCertificate, "the certificate in sslCertPemFile does " +
				"not cover sslCname \"scoring.example.org\" (it names ml.example.com); clients " +
				"that check host names will refuse it, so use a certificate for that name."}},
		},
		{
			name:      "a protected host name is not quoted",
			plain:     map[string]string{"enableInference": "True"},
			protected: map[string]string{"sslCname": "hidden.example.org", "sslCertPemFile": cert, "sslKeyPemFile": key},
			want:      defaults(func(c *Config) { https(c); c.CName = "hidden.example.org" }),
			notices: []Notice{{CodeCNameNotInCertificate, "the certificate in sslCertPemFile does " +
				"not cover sslCname the protected value (it names ml.example.com); clients " +
				"that check host names will refuse it, so use a certificate for that name."}},
		},
	}
}

func TestParseValid(t *testing.T) {
	for _, c := range validCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got, notices, err := testParser.Parse(c.plain, c.protected)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("Config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.notices, notices); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseKeysAndCertificates covers the key formats and certificate files berth accepts.
func TestParseKeysAndCertificates(t *testing.T) {
	chain := makeCert(t, certSpec{key: ecKey(), from: notBefore, to: notAfter,
		issuer: caKey(), issuerPEM: true})
	bundle := "subject=CN = berth test\nissuer=CN = berth test CA\n" + chain
	rsaCert := makeCert(t, certSpec{key: rsaKey(), from: notBefore, to: notAfter})
	edCert := makeCert(t, certSpec{key: edKey(), from: notBefore, to: notAfter})
	ecParams := pemText("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	cases := []struct{ name, cert, key string }{
		{"a chain", chain, validKey(t)},
		{"openssl's bundle with subject lines", bundle, validKey(t)},
		{"PKCS #1 RSA", rsaCert, keyPEM(t, rsaKey(), "pkcs1")},
		{"PKCS #8 RSA", rsaCert, keyPEM(t, rsaKey(), "pkcs8")},
		{"PKCS #8 EC", validCert(t), keyPEM(t, ecKey(), "pkcs8")},
		{"PKCS #8 Ed25519", edCert, keyPEM(t, edKey(), "pkcs8")},
		{"EC after EC PARAMETERS", validCert(t), ecParams + validKey(t)},
		{"certificate and key in one file", validCert(t), validCert(t) + validKey(t)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := testParser.Parse(map[string]string{"enableInference": "True"},
				map[string]string{"sslCertPemFile": c.cert, "sslKeyPemFile": c.key})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

type errorCase struct {
	name      string
	plain     map[string]string
	protected map[string]string
	// want is the error's text; codes its problems' codes, in the same order.
	want  string
	codes []string
}

func errorCases(t testing.TB) []errorCase {
	cert, key := validCert(t), validKey(t)
	files := map[string]string{"sslCertPemFile": cert, "sslKeyPemFile": key}
	withFiles := func(more map[string]string) map[string]string {
		m := map[string]string{"sslCertPemFile": cert, "sslKeyPemFile": key}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	inferenceHTTP := func(more map[string]string) map[string]string {
		m := map[string]string{"enableInference": "True", "allowInsecureConnections": "True"}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	inference := map[string]string{"enableInference": "True"}
	training := map[string]string{"enableTraining": "True"}
	expired := makeCert(t, certSpec{key: ecKey(), from: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		to: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	future := makeCert(t, certSpec{key: ecKey(), from: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		to: notAfter})

	return []errorCase{
		// The seed's own mistakes.
		{
			name: "seed: the NodePort HTTP command's Ture",
			plain: map[string]string{"enableInference": "True", "privateEndpointNodeport": "True",
				"allowInsecureConnections": "Ture"},
			want:  `allowInsecureConnections: "Ture" is not a boolean; did you mean True? Use True or False.`,
			codes: []string{CodeInvalidBoolean},
		},
		{
			name:      "seed: the table's ssKeyPMFile",
			plain:     inference,
			protected: map[string]string{"sslCertPemFile": cert, "ssKeyPMFile": key},
			want:      `ssKeyPMFile: unknown setting; did you mean sslKeyPemFile?`,
			codes:     []string{CodeUnknownSetting},
		},

		// Names.
		{
			name:  "a wrongly cased key",
			plain: map[string]string{"EnableTraining": "True"},
			want: "EnableTraining: unknown setting; did you mean enableTraining? " +
				"Setting names are case-sensitive.",
			codes: []string{CodeUnknownSetting},
		},
		{
			name:  "an all-lowercase key",
			plain: map[string]string{"enabletraining": "True", "enableInference": "False"},
			want: "enabletraining: unknown setting; did you mean enableTraining? " +
				"Setting names are case-sensitive.",
			codes: []string{CodeUnknownSetting},
		},
		{
			name:  "a key with a space after it",
			plain: map[string]string{"enableTraining ": "True"},
			want:  `"enableTraining ": unknown setting; did you mean enableTraining?`,
			codes: []string{CodeUnknownSetting},
		},
		{
			name:  "an unknown key with nothing near",
			plain: map[string]string{"enableTraining": "True", "gpuCount": "2"},
			want: "gpuCount: unknown setting; use one of: enableTraining, enableInference, " +
				"allowInsecureConnections, sslCertPemFile, sslKeyPemFile, sslSecret, sslCname, " +
				"privateEndpointNodeport, privateEndpointILB, internalLoadBalancerProvider, " +
				"inferenceRouterServiceType, inferenceLoadBalancerHA, inferenceRouterHA, " +
				"installNvidiaDevicePlugin, openshift, logAnalyticsWS, installPromOp, " +
				"nodeSelector.<label-key>.",
			codes: []string{CodeUnknownSetting},
		},
		{
			name:  "an empty key",
			plain: map[string]string{"enableTraining": "True", "": "True"},
			want:  "a setting has an empty name; write settings as key=value.",
			codes: []string{CodeUnknownSetting},
		},
		{
			name:  "a key with a newline stays on one line",
			plain: map[string]string{"enableTraining": "True", "a\nb": "1"},
			want: `"a\nb": unknown setting; use one of: enableTraining, enableInference, ` +
				"allowInsecureConnections, sslCertPemFile, sslKeyPemFile, sslSecret, sslCname, " +
				"privateEndpointNodeport, privateEndpointILB, internalLoadBalancerProvider, " +
				"inferenceRouterServiceType, inferenceLoadBalancerHA, inferenceRouterHA, " +
				"installNvidiaDevicePlugin, openshift, logAnalyticsWS, installPromOp, " +
				"nodeSelector.<label-key>.",
			codes: []string{CodeUnknownSetting},
		},
		{
			name:  "seed and today's HA names, even agreeing",
			plain: inferenceHTTP(map[string]string{"inferenceLoadBalancerHA": "True", "inferenceRouterHA": "True"}),
			want: "inferenceLoadBalancerHA: given together with inferenceRouterHA, which replaces " +
				"it; give only one of them.",
			codes: []string{CodeDuplicateSetting},
		},
		{
			name: "seed and today's NodePort names",
			plain: inferenceHTTP(map[string]string{"privateEndpointNodeport": "True",
				"inferenceRouterServiceType": "nodePort"}),
			want: "privateEndpointNodeport: given together with inferenceRouterServiceType, which " +
				"replaces it; give only one of them.",
			codes: []string{CodeDuplicateSetting},
		},
		{
			name: "seed and today's internal load balancer names",
			plain: inferenceHTTP(map[string]string{"privateEndpointILB": "True",
				"internalLoadBalancerProvider": "azure"}),
			want: "privateEndpointILB: given together with internalLoadBalancerProvider, which " +
				"replaces it; give only one of them.",
			codes: []string{CodeDuplicateSetting},
		},
		{
			name:      "a key both plain and protected",
			plain:     map[string]string{"enableTraining": "True"},
			protected: map[string]string{"enableTraining": "True"},
			want: "enableTraining: given both plain (--config) and protected (--config-protected); " +
				"give it once.",
			codes: []string{CodePlainAndProtected},
		},
		{
			name:      "the private key plain",
			plain:     map[string]string{"enableInference": "True", "sslKeyPemFile": key},
			protected: map[string]string{"sslCertPemFile": cert},
			want: "sslKeyPemFile: a private key must not be a plain setting; pass it with " +
				"--config-protected.",
			codes: []string{CodeKeyNotProtected},
		},
		{
			name:  "a bare nodeSelector",
			plain: map[string]string{"enableTraining": "True", "nodeSelector": "gpu"},
			want: "nodeSelector: a nodeSelector setting needs a label key; write " +
				"nodeSelector.<label-key>=<value>, such as nodeSelector.kubernetes.io/os=linux.",
			codes: []string{CodeInvalidNodeSelector},
		},
		{
			name:  "a wrongly cased nodeSelector",
			plain: map[string]string{"enableTraining": "True", "NodeSelector.pool": "ml"},
			want: "NodeSelector.pool: unknown setting; did you mean nodeSelector.pool? " +
				"Setting names are case-sensitive.",
			codes: []string{CodeUnknownSetting},
		},
		{
			name: "bad nodeSelector label keys and values",
			plain: map[string]string{"enableTraining": "True", "nodeSelector.bad key": "x",
				"nodeSelector.pool": "m l", "nodeSelector.-x/y": "ok"},
			want: `nodeSelector.-x/y: "-x/y" is not a valid label key; use [prefix/]name ` +
				"with a name of at most 63 letters, digits, '-', '_' and '.', starting and ending " +
				"with a letter or digit.\n" +
				`"nodeSelector.bad key": "bad key" is not a valid label key; use [prefix/]name ` +
				"with a name of at most 63 letters, digits, '-', '_' and '.', starting and ending " +
				"with a letter or digit.\n" +
				`nodeSelector.pool: "m l" is not a valid label value; use at most 63 letters, ` +
				"digits, '-', '_' and '.', starting and ending with a letter or digit.",
			codes: []string{CodeInvalidNodeSelector, CodeInvalidNodeSelector, CodeInvalidNodeSelector},
		},

		// Values.
		{
			name:  "an empty boolean",
			plain: map[string]string{"enableTraining": ""},
			want:  "enableTraining: the value is empty; use True or False.",
			codes: []string{CodeInvalidBoolean},
		},
		{
			name:  "a boolean with a space",
			plain: map[string]string{"enableTraining": " True"},
			want:  `enableTraining: " True" is not a boolean; did you mean True? Use True or False.`,
			codes: []string{CodeInvalidBoolean},
		},
		{
			name:  "a boolean as a number",
			plain: map[string]string{"enableTraining": "1"},
			want:  `enableTraining: "1" is not a boolean; use True or False.`,
			codes: []string{CodeInvalidBoolean},
		},
		{
			name:  "a misspelt False",
			plain: map[string]string{"enableTraining": "True", "installPromOp": "flase"},
			want:  `installPromOp: "flase" is not a boolean; did you mean False? Use True or False.`,
			codes: []string{CodeInvalidBoolean},
		},
		{
			name:      "a protected boolean is not quoted",
			plain:     training,
			protected: map[string]string{"logAnalyticsWS": "hunter2-Ture"},
			want:      "logAnalyticsWS: the protected value is not a boolean; use True or False.",
			codes:     []string{CodeInvalidBoolean},
		},
		{
			name:  "a service type near nodePort",
			plain: inferenceHTTP(map[string]string{"inferenceRouterServiceType": "NodePorts"}),
			want: `inferenceRouterServiceType: "NodePorts" is not a service type; did you mean ` +
				"nodePort? Use loadBalancer, nodePort or clusterIP.",
			codes: []string{CodeInvalidServiceType},
		},
		{
			name:  "an empty service type",
			plain: inferenceHTTP(map[string]string{"inferenceRouterServiceType": ""}),
			want: "inferenceRouterServiceType: the value is empty; use loadBalancer, nodePort " +
				"or clusterIP.",
			codes: []string{CodeInvalidServiceType},
		},
		{
			name:  "a provider near azure",
			plain: inferenceHTTP(map[string]string{"internalLoadBalancerProvider": "Azur"}),
			want: `internalLoadBalancerProvider: "Azur" is not a load balancer provider; did you ` +
				"mean azure? Use azure, aws or gcp.",
			codes: []string{CodeInvalidProvider},
		},
		{
			name:  "an unknown provider",
			plain: inferenceHTTP(map[string]string{"internalLoadBalancerProvider": "oracle"}),
			want: `internalLoadBalancerProvider: "oracle" is not a load balancer provider; use ` +
				"azure, aws or gcp.",
			codes: []string{CodeInvalidProvider},
		},
		{
			name:  "a bad Secret name",
			plain: map[string]string{"enableInference": "True", "sslSecret": "My_TLS"},
			want: `sslSecret: "My_TLS" is not a valid Secret name; use at most 253 lowercase ` +
				"letters, digits, '-' and '.', starting and ending with a letter or digit.",
			codes: []string{CodeInvalidSecretName},
		},
		{
			name:  "an empty Secret name",
			plain: map[string]string{"enableInference": "True", "sslSecret": ""},
			want:  "sslSecret: the value is empty; give the name of a Secret holding cert.pem and key.pem.",
			codes: []string{CodeInvalidSecretName},
		},
		{
			name:  "a bad host name",
			plain: inferenceHTTP(map[string]string{"sslCname": "ml_example.com"}),
			want:  `sslCname: "ml_example.com" is not a valid DNS name; give a host name such as ml.example.com.`,
			codes: []string{CodeInvalidCName},
		},
		{
			name:  "a wildcard host name",
			plain: inferenceHTTP(map[string]string{"sslCname": "*.example.com"}),
			want:  `sslCname: "*.example.com" is not a valid DNS name; give a host name such as ml.example.com.`,
			codes: []string{CodeInvalidCName},
		},
		{
			name:  "an empty host name",
			plain: inferenceHTTP(map[string]string{"sslCname": ""}),
			want: "sslCname: the value is empty; give the host name clients use for scoring, " +
				"such as ml.example.com.",
			codes: []string{CodeInvalidCName},
		},

		// Rules between settings.
		{
			name:  "no settings",
			want:  "neither training nor inference is enabled; set enableTraining=True, enableInference=True or both.",
			codes: []string{CodeNothingEnabled},
		},
		{
			name:  "both off",
			plain: map[string]string{"enableTraining": "False", "enableInference": "false"},
			want:  "neither training nor inference is enabled; set enableTraining=True, enableInference=True or both.",
			codes: []string{CodeNothingEnabled},
		},
		{
			name:  "inference with neither TLS nor HTTP allowed",
			plain: map[string]string{"enableInference": "True"},
			want: "enableInference: inference needs TLS: pass sslCertPemFile and sslKeyPemFile " +
				"with --config-protected or set sslSecret; or set allowInsecureConnections=True " +
				"to allow HTTP.",
			codes: []string{CodeInferenceNeedsTLS},
		},
		{
			name:  "inference with HTTP refused",
			plain: map[string]string{"enableInference": "True", "allowInsecureConnections": "False"},
			want: "enableInference: inference needs TLS: pass sslCertPemFile and sslKeyPemFile " +
				"with --config-protected or set sslSecret; or set allowInsecureConnections=True " +
				"to allow HTTP.",
			codes: []string{CodeInferenceNeedsTLS},
		},
		{
			name:      "a certificate without its key",
			plain:     inference,
			protected: map[string]string{"sslCertPemFile": cert},
			want:      "sslCertPemFile: given without sslKeyPemFile; pass both with --config-protected.",
			codes:     []string{CodeIncompleteTLS},
		},
		{
			name:      "a key without its certificate",
			plain:     inference,
			protected: map[string]string{"sslKeyPemFile": key},
			want:      "sslKeyPemFile: given without sslCertPemFile; pass both with --config-protected.",
			codes:     []string{CodeIncompleteTLS},
		},
		{
			name:      "sslSecret with the PEM files",
			plain:     map[string]string{"enableInference": "True", "sslSecret": "scoring-tls"},
			protected: files,
			want: "sslSecret: cannot be combined with sslCertPemFile and sslKeyPemFile; use either " +
				"the Secret or the PEM files.",
			codes: []string{CodeConflictingTLS},
		},
		{
			name:  "NodePort and an internal load balancer (seed's names)",
			plain: inferenceHTTP(map[string]string{"privateEndpointNodeport": "True", "privateEndpointILB": "True"}),
			want: "privateEndpointILB: an internal load balancer and NodePort " +
				"(privateEndpointNodeport=True) exclude each other; keep one of them.",
			codes: []string{CodeConflictingExposure},
		},
		{
			name: "NodePort and an internal load balancer (today's names)",
			plain: inferenceHTTP(map[string]string{"inferenceRouterServiceType": "NODEPORT",
				"internalLoadBalancerProvider": "gcp"}),
			want: "internalLoadBalancerProvider: an internal load balancer and NodePort " +
				"(inferenceRouterServiceType=nodePort) exclude each other; keep one of them.",
			codes: []string{CodeConflictingExposure},
		},
		{
			name: "clusterIP and an internal load balancer",
			plain: inferenceHTTP(map[string]string{"inferenceRouterServiceType": "clusterIP",
				"privateEndpointILB": "True"}),
			want: "privateEndpointILB: an internal load balancer needs the service type " +
				"loadBalancer, not clusterIP (inferenceRouterServiceType=clusterIP); keep one of them.",
			codes: []string{CodeConflictingExposure},
		},

		// Certificates and keys.
		{
			name:      "a key not matching its certificate",
			plain:     inference,
			protected: map[string]string{"sslCertPemFile": cert, "sslKeyPemFile": keyPEM(t, otherKey(), "ec")},
			want: "sslKeyPemFile: the private key does not match the certificate in sslCertPemFile; " +
				"give the key the certificate was issued for.",
			codes: []string{CodeKeyMismatch},
		},
		{
			name:      "an expired certificate",
			plain:     inference,
			protected: withFiles(map[string]string{"sslCertPemFile": expired}),
			want:      "sslCertPemFile: the certificate expired at 2025-01-01T00:00:00Z; renew it.",
			codes:     []string{CodeCertificateExpired},
		},
		{
			name:      "a certificate not yet valid",
			plain:     inference,
			protected: withFiles(map[string]string{"sslCertPemFile": future}),
			want: "sslCertPemFile: the certificate is valid only from 2026-06-01T00:00:00Z; use a " +
				"certificate valid now, or check the server's clock.",
			codes: []string{CodeCertificateNotYet},
		},
		{
			name:      "a path instead of the certificate's contents",
			plain:     inference,
			protected: withFiles(map[string]string{"sslCertPemFile": "/etc/ssl/cert.pem"}),
			want: "sslCertPemFile: no PEM certificate found; give the contents of a PEM certificate " +
				"file, not its path.",
			codes: []string{CodeInvalidCertificate},
		},
		{
			name:      "an empty certificate",
			plain:     inference,
			protected: withFiles(map[string]string{"sslCertPemFile": ""}),
			want:      "sslCertPemFile: the value is empty; give the contents of a PEM certificate file.",
			codes:     []string{CodeInvalidCertificate},
		},
		{
			name:      "a certificate that does not parse",
			plain:     inference,
			protected: withFiles(map[string]string{"sslCertPemFile": garbled("CERTIFICATE")}),
			want: "sslCertPemFile: certificate 1 does not parse (x509: malformed certificate); " +
				"give PEM-encoded X.509 certificates.",
			codes: []string{CodeInvalidCertificate},
		},
		{
			name:      "a chain whose second certificate does not parse",
			plain:     inference,
			protected: withFiles(map[string]string{"sslCertPemFile": cert + garbled("CERTIFICATE")}),
			want: "sslCertPemFile: certificate 2 does not parse (x509: malformed certificate); " +
				"give PEM-encoded X.509 certificates.",
			codes: []string{CodeInvalidCertificate},
		},
		{
			name:      "a private key in the certificate file",
			plain:     inference,
			protected: withFiles(map[string]string{"sslCertPemFile": cert + key}),
			want: "sslCertPemFile: the value holds a private key; give only certificates here, " +
				"and the key in sslKeyPemFile with --config-protected.",
			codes: []string{CodeInvalidCertificate},
		},
		{
			name:      "another block in the certificate file",
			plain:     inference,
			protected: withFiles(map[string]string{"sslCertPemFile": cert + garbled("X509 CRL")}),
			want: `sslCertPemFile: the value holds a "X509 CRL" PEM block; give only CERTIFICATE ` +
				"blocks.",
			codes: []string{CodeInvalidCertificate},
		},
		{
			name:      "an empty key",
			plain:     inference,
			protected: withFiles(map[string]string{"sslKeyPemFile": ""}),
			want:      "sslKeyPemFile: the value is empty; give the contents of a PEM private key file.",
			codes:     []string{CodeInvalidKey},
		},
		{
			name:      "a path instead of the key's contents",
			plain:     inference,
			protected: withFiles(map[string]string{"sslKeyPemFile": "key.pem"}),
			want: "sslKeyPemFile: no PEM private key found; give the contents of a PEM private key " +
				"file, not its path.",
			codes: []string{CodeInvalidKey},
		},
		{
			name:      "an encrypted key",
			plain:     inference,
			protected: withFiles(map[string]string{"sslKeyPemFile": garbled("ENCRYPTED PRIVATE KEY")}),
			want:      "sslKeyPemFile: the private key is encrypted; give it without a passphrase.",
			codes:     []string{CodeInvalidKey},
		},
		{
			name:  "a legacy encrypted key",
			plain: inference,
			protected: withFiles(map[string]string{"sslKeyPemFile": "-----BEGIN RSA PRIVATE KEY-----\n" +
				"Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n" +
				"bm90IGRlcg==\n-----END RSA PRIVATE KEY-----\n"}),
			want:  "sslKeyPemFile: the private key is encrypted; give it without a passphrase.",
			codes: []string{CodeInvalidKey},
		},
		{
			name:      "an OpenSSH key",
			plain:     inference,
			protected: withFiles(map[string]string{"sslKeyPemFile": garbled("OPENSSH PRIVATE KEY")}),
			want: `sslKeyPemFile: "OPENSSH PRIVATE KEY" keys are not supported; give a PKCS #1, ` +
				"PKCS #8 or EC private key.",
			codes: []string{CodeInvalidKey},
		},
		{
			name:      "a key that does not parse",
			plain:     inference,
			protected: withFiles(map[string]string{"sslKeyPemFile": garbled("EC PRIVATE KEY")}),
			want: `sslKeyPemFile: the "EC PRIVATE KEY" block does not parse; give a PKCS #1, ` +
				"PKCS #8 or EC private key.",
			codes: []string{CodeInvalidKey},
		},

		// Several problems at once, sorted by key.
		{
			name: "every problem at once",
			plain: map[string]string{"enableTraining": "yes", "enableInference": "True",
				"privateEndpointNodeport": "True", "privateEndpointILB": "True",
				"allowInsecureConnections": "Ture", "sslCname": "a b"},
			protected: map[string]string{"ssKeyPMFile": key, "sslCertPemFile": cert},
			want: `allowInsecureConnections: "Ture" is not a boolean; did you mean True? ` +
				"Use True or False.\n" +
				`enableTraining: "yes" is not a boolean; use True or False.` + "\n" +
				"privateEndpointILB: an internal load balancer and NodePort " +
				"(privateEndpointNodeport=True) exclude each other; keep one of them.\n" +
				"ssKeyPMFile: unknown setting; did you mean sslKeyPemFile?\n" +
				`sslCname: "a b" is not a valid DNS name; give a host name such as ml.example.com.`,
			codes: []string{CodeInvalidBoolean, CodeInvalidBoolean, CodeConflictingExposure,
				CodeUnknownSetting, CodeInvalidCName},
		},
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range errorCases(t) {
		t.Run(c.name, func(t *testing.T) {
			cfg, _, err := testParser.Parse(c.plain, c.protected)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v; want error:\n%s", cfg, c.want)
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
			if diff := cmp.Diff(Config{}, cfg); diff != "" {
				t.Errorf("Config with an error is not zero (-want +got):\n%s", diff)
			}
			// Protected values never show: the PEM files, and anything else given protected.
			for k, v := range c.protected {
				if len(v) >= 8 && strings.Contains(err.Error(), v) {
					t.Errorf("the error shows the protected value of %s", k)
				}
			}
		})
	}
}

func TestParseDefaultClock(t *testing.T) {
	// The zero Parser checks certificates against the real clock.
	now := time.Now()
	plain := map[string]string{"enableInference": "True"}
	current := makeCert(t, certSpec{key: ecKey(), from: now.Add(-time.Hour), to: now.Add(time.Hour)})
	if _, _, err := Parse(plain, map[string]string{"sslCertPemFile": current,
		"sslKeyPemFile": validKey(t)}); err != nil {
		t.Errorf("Parse with a current certificate: %v", err)
	}
	old := makeCert(t, certSpec{key: ecKey(), from: now.Add(-2 * time.Hour), to: now.Add(-time.Hour)})
	_, _, err := Parse(plain, map[string]string{"sslCertPemFile": old, "sslKeyPemFile": validKey(t)})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Problems[0].Code != CodeCertificateExpired {
		t.Errorf("Parse with a certificate expired an hour ago: %v", err)
	}
}

func TestParseIsDeterministic(t *testing.T) {
	for _, c := range errorCases(t) {
		_, _, first := testParser.Parse(c.plain, c.protected)
		for range 5 {
			_, _, again := testParser.Parse(c.plain, c.protected)
			if again.Error() != first.Error() {
				t.Fatalf("%s: Parse gave\n%s\nthen\n%s", c.name, first, again)
			}
		}
	}
}

func TestNames(t *testing.T) {
	names := Names()
	if len(names) != len(settings)+1 || names[len(names)-1] != "nodeSelector.<label-key>" {
		t.Fatalf("Names() = %v", names)
	}
	for _, n := range names[:len(names)-1] {
		if _, ok := lookup(n); !ok {
			t.Errorf("Names() has %q, which Parse does not know", n)
		}
	}
	names[0] = "changed"
	if Names()[0] != "enableTraining" {
		t.Error("Names returns a slice its caller can change under Parse")
	}
}

func TestValidationErrorWithoutProblems(t *testing.T) {
	if got := (&ValidationError{}).Error(); got != "invalid extension settings" {
		t.Errorf("Error() = %q", got)
	}
}
