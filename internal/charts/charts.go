// Package charts holds berth's two Helm charts, embedded in the binary: the agent's, which
// `berth cluster connect` installs with the user's kubeconfig, and the ML extension's, which
// the agent installs from the extension's settings (see ExtensionValues). Both also install
// with the plain helm CLI once written out with WriteChart.
package charts

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"berth/internal/version"
)

// The charts' names, as Load and WriteChart take them.
const (
	AgentChart     = "agent"
	ExtensionChart = "extension"
)

// Where the agent's release lives. The extension's release is named after the extension
// and lives in its release namespace, DefaultNamespace unless the settings say otherwise.
const (
	AgentRelease     = "berth-agent"
	AgentNamespace   = "berth"
	DefaultNamespace = "berth"
)

// The all: prefix keeps files whose names start with _ (the charts' _helpers.tpl).
//
//go:embed all:agent all:extension
var files embed.FS

// Agent returns the agent's chart (see Load).
func Agent() (*chart.Chart, error) { return Load(AgentChart) }

// Extension returns the ML extension's chart (see Load).
func Extension() (*chart.Chart, error) { return Load(ExtensionChart) }

// Load returns a fresh copy of the named chart (AgentChart or ExtensionChart), its
// appVersion set to this binary's version so that the default image is berth:<version>.
func Load(name string) (*chart.Chart, error) {
	var buffered []*archive.BufferedFile
	err := walkChart(name, func(rel string, data []byte) error {
		buffered = append(buffered, &archive.BufferedFile{Name: rel, Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}

	ch, err := loader.LoadFiles(buffered)
	if err != nil {
		return nil, fmt.Errorf("loading the embedded %s chart: %w", name, err)
	}
	ch.Metadata.AppVersion = version.Version
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("validating the embedded %s chart: %w", name, err)
	}
	return ch, nil
}

// WriteChart writes the named chart (AgentChart or ExtensionChart) as files into dir, which it
// creates; dir is then the chart's root, ready for `helm install RELEASE dir`. Existing
// files of the same names are overwritten.
func WriteChart(name, dir string) error {
	return walkChart(name, func(rel string, data []byte) error {
		if rel == "Chart.yaml" {
			data = withAppVersion(data, version.Version)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("writing the %s chart: %w", name, err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return fmt.Errorf("writing the %s chart: %w", name, err)
		}
		return nil
	})
}

// walkChart calls fn with each file of the named chart, its path relative to the chart's
// root (slash-separated) and its content.
func walkChart(name string, fn func(rel string, data []byte) error) error {
	if name != AgentChart && name != ExtensionChart {
		return fmt.Errorf("no chart named %q: the charts are %q and %q", name, AgentChart, ExtensionChart)
	}
	return fs.WalkDir(files, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return fn(strings.TrimPrefix(p, name+"/"), data)
	})
}

var appVersionLine = regexp.MustCompile(`(?m)^appVersion:.*$`)

// withAppVersion sets the appVersion line of a Chart.yaml, keeping its comments.
func withAppVersion(chartYAML []byte, v string) []byte {
	return appVersionLine.ReplaceAll(chartYAML, []byte("appVersion: "+strconv.Quote(v)))
}
