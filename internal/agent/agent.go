// Package agent is the connected-cluster agent: it dials out to the workspace server,
// reports the cluster's inventory and the extension's state, and installs, upgrades and
// removes the extension's Helm release as the server's desired state says. The cluster needs
// no inbound port. Every step is idempotent, so a restarted agent or a lost connection never
// duplicates work.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	v1 "berth/api/v1"
	"berth/internal/charts"
	"berth/internal/client"
	"berth/internal/extension"
	"berth/internal/kube"
	"berth/internal/version"
)

// Releases applies and removes Helm releases in one namespace; kube.Releaser is the real one.
type Releases interface {
	Apply(ctx context.Context, release string, ch *chart.Chart, values map[string]any) error
	Uninstall(ctx context.Context, release string) error
}

// Agent is one cluster's agent.
type Agent struct {
	Server *client.Client
	Kube   kubernetes.Interface
	// Releases returns the Helm releaser of a namespace.
	Releases func(namespace string) (Releases, error)
	// Namespace is the agent's own namespace, where sslSecret Secrets are looked for.
	Namespace string
	// HostBinary and Image say how the extension's pods run berth (see charts.ExtensionOptions).
	HostBinary string
	Image      string
	// Interval is the time between reports.
	Interval time.Duration
	Log      *slog.Logger
	// Sleep waits d or until ctx ends, and Backoff is the wait after n failed reports in a
	// row; tests replace both so that an absent server costs no real time.
	Sleep   func(ctx context.Context, d time.Duration) error
	Backoff func(n int) time.Duration
	// Connected is called after each successful report (the health endpoint uses it).
	Connected func()

	extensions map[string]*installed
	inventory  v1.Inventory
}

// installed is what the agent knows of one extension: the generation it applied and the
// objects of that release, and what it will report.
type installed struct {
	applied int64
	objects []*unstructured.Unstructured
	notices []v1.ExtensionStatus
	report  v1.ExtensionReport
}

// Sleep waits d, or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Backoff doubles from one second up to a minute, with jitter so that many agents coming
// back together do not all call at once.
func Backoff(n int) time.Duration {
	d := time.Second << min(n-1, 6)
	d = min(d, time.Minute)
	return d/2 + rand.N(d/2+1)
}

// Run reports and reconciles until ctx ends. A failed report is retried with backoff; the
// extensions keep running meanwhile, and their state is reported once the server is back.
func (a *Agent) Run(ctx context.Context) error {
	if a.extensions == nil {
		a.extensions = map[string]*installed{}
	}
	failures := 0
	for {
		desired, err := a.report(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			wait := a.Backoff(failures)
			a.Log.Warn("report to the server failed; retrying", "error", err, "failures", failures, "retry_in", wait.Round(time.Millisecond).String())
			if a.Sleep(ctx, wait) != nil {
				return nil
			}
			continue
		}
		if failures > 0 {
			a.Log.Info("reconnected to the server", "failures", failures)
			failures = 0
		}
		if a.Connected != nil {
			a.Connected()
		}
		a.reconcile(ctx, desired)
		if a.Sleep(ctx, a.Interval) != nil {
			return nil
		}
	}
}

// report sends the inventory and the extensions' state, and returns the desired state. An
// extension reported as removed is forgotten once the server has heard it.
func (a *Agent) report(ctx context.Context) (*v1.AgentDesired, error) {
	inv, err := Inventory(ctx, a.Kube, a.Namespace)
	if err != nil {
		return nil, err
	}
	rep := &v1.AgentReport{AgentVersion: version.Version, Inventory: inv, Extensions: []v1.ExtensionReport{}}
	for _, ext := range a.extensions {
		if ext.report.Name != "" {
			rep.Extensions = append(rep.Extensions, ext.report)
		}
	}
	desired, err := a.Server.Report(ctx, rep)
	if err != nil {
		return nil, err
	}
	for name, ext := range a.extensions {
		if ext.report.Removed {
			delete(a.extensions, name)
		}
	}
	a.inventory = inv
	return desired, nil
}

// reconcile brings each desired extension to its state, one at a time.
//
// TODO(agent): a release of the extension's chart that the server does not list (its
// workspace's data folder was lost, or the extension deleted while this agent could not
// hear) is left running; the agent should find such releases by their labels and report
// them, and remove them when the user says so.
func (a *Agent) reconcile(ctx context.Context, desired *v1.AgentDesired) {
	for _, d := range desired.Extensions {
		log := a.Log.With("extension", d.Name, "generation", d.Generation)
		ext := a.extensions[d.Name]
		if ext == nil {
			ext = &installed{}
			a.extensions[d.Name] = ext
		}
		var err error
		if d.Delete {
			err = a.remove(ctx, d, ext)
		} else {
			err = a.install(ctx, d, ext, log)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("reconciling the extension failed", "error", err)
		}
	}
}

// install applies the extension's release when its settings changed (or after the agent
// started: applying again is a no-op for objects already right), then reads its components.
func (a *Agent) install(ctx context.Context, d v1.DesiredExtension, ext *installed, log *slog.Logger) error {
	ext.report.Name, ext.report.Generation = d.Name, d.Generation
	if ext.applied != d.Generation {
		cfg, notices, err := a.checkSettings(d)
		if err != nil {
			ext.report.InstallState = v1.InstallFailed
			ext.report.Statuses = extension.Statuses(nil, err)
			return err
		}
		objects, err := a.apply(ctx, d, cfg)
		if err != nil {
			ext.report.InstallState = v1.InstallFailed
			ext.report.Statuses = append(notices, v1.ExtensionStatus{Code: "HelmReleaseFailed", Level: "Error",
				Message: releaseFailure(err)})
			return err
		}
		ext.applied, ext.objects, ext.notices = d.Generation, objects, notices
		log.Info("extension release applied")
	}
	comps, stuck, err := checkComponents(ctx, a.Kube, ext.objects)
	if err != nil {
		return err
	}
	ext.report.Components = comps
	ext.report.Statuses = ext.notices
	switch {
	case stuck:
		ext.report.InstallState = v1.InstallFailed
		for _, c := range comps {
			if !c.Ready {
				ext.report.Statuses = append(ext.report.Statuses, v1.ExtensionStatus{Code: "ComponentFailed", Level: "Error",
					Message: fmt.Sprintf("%s %s: %s", c.Kind, c.Name, c.Message)})
			}
		}
	case allReady(comps):
		ext.report.InstallState = v1.InstallInstalled
	default:
		ext.report.InstallState = v1.InstallPending
	}
	return nil
}

// releaseFailure is the status message of a failed install or upgrade.
func releaseFailure(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "exists and cannot be imported into the current release") {
		return msg + "; that object is not this release's (made by hand, or left by an extension forgotten with --force): " +
			"delete it, and the agent tries again"
	}
	return msg + "; the agent tries again"
}

// checkSettings validates the settings again, against the cluster as it is now.
func (a *Agent) checkSettings(d v1.DesiredExtension) (extension.Config, []v1.ExtensionStatus, error) {
	cfg, notices, err := extension.Parse(d.ConfigurationSettings, d.ProtectedSettings)
	if err != nil {
		return cfg, nil, err
	}
	more, err := extension.Check(&cfg, &a.inventory)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, extension.Statuses(append(notices, more...), nil), nil
}

func (a *Agent) apply(ctx context.Context, d v1.DesiredExtension, cfg extension.Config) ([]*unstructured.Unstructured, error) {
	ch, values, objects, err := a.render(d, cfg)
	if err != nil {
		return nil, err
	}
	rel, err := a.Releases(d.ReleaseNamespace)
	if err != nil {
		return nil, err
	}
	return objects, rel.Apply(ctx, d.Name, ch, values)
}

// render renders the extension's chart for cfg: the chart, its values, and its objects.
func (a *Agent) render(d v1.DesiredExtension, cfg extension.Config) (*chart.Chart, map[string]any, []*unstructured.Unstructured, error) {
	ch, err := charts.Extension()
	if err != nil {
		return nil, nil, nil, err
	}
	values := charts.ExtensionValues(cfg, charts.ExtensionOptions{ExtensionName: d.Name,
		HostBinary: a.HostBinary, Image: a.Image, ClusterProvider: cloudOf(&a.inventory)})
	objects, err := kube.Render(ch, d.Name, d.ReleaseNamespace, values)
	return ch, values, objects, err
}

// remove uninstalls the extension's release. Uninstall returns once every object the
// release owns is gone, so the extension is removed then; an object of the same name that
// the release does not own (made by hand, or left by an extension forgotten with --force)
// is not its to wait for.
func (a *Agent) remove(ctx context.Context, d v1.DesiredExtension, ext *installed) error {
	ext.report = v1.ExtensionReport{Name: d.Name, Generation: d.Generation, InstallState: v1.InstallDeleting,
		Statuses: []v1.ExtensionStatus{}, Components: []v1.Component{}}
	rel, err := a.Releases(d.ReleaseNamespace)
	if err != nil {
		return err
	}
	if err := rel.Uninstall(ctx, d.Name); err != nil {
		return fmt.Errorf("uninstalling release %s: %w", d.Name, err)
	}
	ext.report.Removed = true
	return nil
}

func allReady(comps []v1.Component) bool {
	for _, c := range comps {
		if !c.Ready {
			return false
		}
	}
	return true
}
