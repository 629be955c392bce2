package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

// A flag and its alias given together add up; a key they give different values is refused.
func TestExtensionSettingsMergeFlagAliases(t *testing.T) {
	tests := []struct {
		args             []string
		plain, protected map[string]string
		problems         []string
	}{{
		args:      []string{"--config", "enableInference=True", "--configuration-settings", "allowInsecureConnections=True", "--config", "sslCname=a.example.com"},
		plain:     map[string]string{"enableInference": "True", "allowInsecureConnections": "True", "sslCname": "a.example.com"},
		protected: map[string]string{},
	}, {
		args:      []string{"--configuration-protected-settings", "sslSecret=s1", "--config-protected", "logAnalyticsWS=True"},
		plain:     map[string]string{},
		protected: map[string]string{"sslSecret": "s1", "logAnalyticsWS": "True"},
	}, {
		args:      []string{"--config", "enableTraining=True", "--configuration-settings", "enableTraining=False"},
		plain:     map[string]string{"enableTraining": "False"},
		protected: map[string]string{},
		problems:  []string{"--config: enableTraining: given twice with different values; give it once."},
	}}
	for _, tt := range tests {
		o := &extensionOptions{}
		cmd := &cobra.Command{}
		o.addConfigFlags(cmd)
		if err := cmd.ParseFlags(expandMultiValueFlags(tt.args, multiValueFlags)); err != nil {
			t.Fatal(err)
		}
		plain, protected, problems := o.settings(false)
		if diff := cmp.Diff(tt.plain, plain); diff != "" {
			t.Errorf("%s: plain (-want +got):\n%s", strings.Join(tt.args, " "), diff)
		}
		if diff := cmp.Diff(tt.protected, protected); diff != "" {
			t.Errorf("%s: protected (-want +got):\n%s", strings.Join(tt.args, " "), diff)
		}
		if diff := cmp.Diff(tt.problems, problems); diff != "" {
			t.Errorf("%s: problems (-want +got):\n%s", strings.Join(tt.args, " "), diff)
		}
	}
}

func TestReadPEMFile(t *testing.T) {
	dir := t.TempDir()
	pemFile, textFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "notes.txt"), filepath.Join(dir, "key.pem")
	os.WriteFile(keyFile, []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), 0o600)
	os.WriteFile(pemFile, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600)
	os.WriteFile(textFile, []byte("not a certificate\n"), 0o600)
	tests := []struct {
		key, path, want string
	}{
		{"sslCertPemFile", "", "sslCertPemFile needs the path of a PEM file"},
		{"sslCertPemFile", "-----BEGIN CERTIFICATE-----\nAAAA", "sslCertPemFile takes the path of a PEM file, not its contents"},
		{"sslCertPemFile", dir, fmt.Sprintf("sslCertPemFile: %q is a folder; give the path of a PEM file", dir)},
		{"sslKeyPemFile", pemFile, fmt.Sprintf("sslKeyPemFile: file %q holds CERTIFICATE, not a PRIVATE KEY; give the private key file (are the certificate and key files swapped?)", pemFile)},
		{"sslCertPemFile", keyFile, fmt.Sprintf("sslCertPemFile: file %q holds EC PRIVATE KEY, not a CERTIFICATE; give the certificate file (are the certificate and key files swapped?)", keyFile)},
		{"sslCertPemFile", textFile, fmt.Sprintf("sslCertPemFile: file %q holds no PEM data; give a PEM file, whose blocks start with -----BEGIN", textFile)},
		{"sslCertPemFile", filepath.Join(dir, "missing.pem"), fmt.Sprintf("sslCertPemFile: file %q does not exist; give the path of the PEM file", filepath.Join(dir, "missing.pem"))},
		{"sslCertPemFile", pemFile + "--resource-group", fmt.Sprintf("sslCertPemFile: file %q does not exist; a flag seems glued to the path: put a space before --resource-group", pemFile+"--resource-group")},
	}
	for _, tt := range tests {
		if _, err := readPEMFile(tt.key, tt.path); err == nil || err.Error() != tt.want {
			t.Errorf("readPEMFile(%s, %q) = %v, want %q", tt.key, tt.path, err, tt.want)
		}
	}
	if data, err := readPEMFile("sslCertPemFile", pemFile); err != nil || !strings.HasPrefix(data, "-----BEGIN CERTIFICATE") {
		t.Errorf("readPEMFile(a PEM file) = %q, %v", data, err)
	}
}
