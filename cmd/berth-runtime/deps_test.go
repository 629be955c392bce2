package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRuntimeImportsNoHeavyPackage keeps berth-runtime small and quick to start: it runs in
// every training pod and next to every scoring process, and must not link Kubernetes, Helm or
// the server.
func TestRuntimeImportsNoHeavyPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"k8s.io/", "sigs.k8s.io/", "helm.sh/", "berth/internal/server", "berth/internal/store",
		"berth/internal/cli", "modernc.org/sqlite", "github.com/spf13/cobra"}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned too little to judge: %q", out)
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("berth-runtime imports %s", dep)
			}
		}
	}
}
