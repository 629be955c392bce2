package cli

import (
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
		plain, protected, problems := o.settings()
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
