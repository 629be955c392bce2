package kube_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"berth/internal/charts"
	"berth/internal/extension"
	"berth/internal/kube"
	"berth/test/testcluster"
)

// These tests run against a real cluster from berth/test/testcluster (control plane and
// one process-kubelet node), or the one at $BERTH_TEST_KUBECONFIG when set (quicker while
// iterating: start it once with test/cluster/start.sh). The cases share the cluster and run
// one after another: the extension's CRDs are cluster-wide, so one release at a time.

// startCluster returns the REST config and kubeconfig path of the test's cluster.
func startCluster(t *testing.T) (*rest.Config, string) {
	t.Helper()
	kubeconfig := os.Getenv("BERTH_TEST_KUBECONFIG")
	if kubeconfig == "" {
		kubeconfig = testcluster.Start(t, 1).Kubeconfig
	} else if testing.Short() {
		t.Skip("needs a Kubernetes cluster; skipped with -short")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, kubeconfig
}

// TestReleaserOnACluster installs, upgrades, interrupts and removes the extension's
// release on a real cluster.
func TestReleaserOnACluster(t *testing.T) {
	cfg, kubeconfig := startCluster(t)
	t.Run("Apply installs, upgrades, and Uninstall removes", func(t *testing.T) { testLifecycle(t, cfg) })
	t.Run("Apply converges after an interrupted Apply", func(t *testing.T) { testInterruptedApply(t, cfg) })
	t.Run("Apply converges after its process is killed", func(t *testing.T) { testKilledApply(t, cfg, kubeconfig) })
	t.Run("Uninstall converges after an interrupted Uninstall", func(t *testing.T) { testInterruptedUninstall(t, cfg) })
	t.Run("Uninstall of an absent release is nil", func(t *testing.T) { testAbsentRelease(t, cfg) })
}

// restGetter is a RESTClientGetter over a REST config, optionally canceling a context
// after a number of writes reached the API server.
type restGetter struct {
	*kube.RESTConfigGetter
	wrap func(http.RoundTripper) http.RoundTripper
}

func (g restGetter) ToRESTConfig() (*rest.Config, error) {
	cfg, err := g.RESTConfigGetter.ToRESTConfig()
	if err != nil || g.wrap == nil {
		return cfg, err
	}
	cfg.Wrap(g.wrap)
	return cfg, nil
}

// cancelAfterWrites returns a transport wrapper that cancels cancel once n writes
// (POST, PUT, PATCH, DELETE) got their answer: the Apply in flight is then interrupted at
// that point, as if its process had been killed.
func cancelAfterWrites(n int64, cancel context.CancelFunc) func(http.RoundTripper) http.RoundTripper {
	var writes atomic.Int64
	return func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(req)
			if req.Method != http.MethodGet && writes.Add(1) == n {
				cancel()
			}
			return resp, err
		})
	}
}

// slowWrites delays every write by d, so that a process killed soon after it started
// writing is killed in the middle.
func slowWrites(d time.Duration) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method != http.MethodGet {
				time.Sleep(d)
			}
			return rt.RoundTrip(req)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func newReleaser(t *testing.T, cfg *rest.Config, namespace string, wrap func(http.RoundTripper) http.RoundTripper) *kube.Releaser {
	t.Helper()
	r := kube.NewReleaser(restGetter{RESTConfigGetter: kube.NewRESTConfigGetter(cfg, namespace), wrap: wrap}, namespace)
	r.Logger = testLogger(t)
	return r
}

// The settings the tests move between.
var (
	training = extension.Config{Training: true}
	// withPrometheus adds a Deployment, a ConfigMap, a Service and RBAC.
	withPrometheus = extension.Config{Training: true, InstallPrometheus: true}
	inference      = extension.Config{Training: true, Inference: true, AllowInsecure: true,
		RouterServiceType: extension.ServiceNodePort, RouterReplicas: 1}
)

func extensionValues(cfg extension.Config) map[string]any {
	return charts.ExtensionValues(cfg, charts.ExtensionOptions{ExtensionName: "ext", HostBinary: "/bin/true"})
}

// The kinds of the extension's objects, with berth's label, that must come and go with it.
var labelledKinds = []schema.GroupVersionResource{
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "daemonsets"},
	{Group: "apps", Version: "v1", Resource: "replicasets"},
	{Version: "v1", Resource: "pods"},
	{Version: "v1", Resource: "services"},
	{Version: "v1", Resource: "serviceaccounts"},
	{Version: "v1", Resource: "secrets"},
	{Version: "v1", Resource: "configmaps"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
}

// liveObjects lists "Kind name" of every object labelled with selector, in any namespace.
func liveObjects(t *testing.T, cfg *rest.Config, selector string) []string {
	t.Helper()
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, gvr := range labelledKinds {
		list, err := dc.Resource(gvr).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			t.Fatalf("listing %s: %v", gvr.Resource, err)
		}
		for _, item := range list.Items {
			if item.GetDeletionTimestamp() != nil {
				out = append(out, item.GetKind()+" "+item.GetName()+" (terminating)")
				continue
			}
			out = append(out, item.GetKind()+" "+item.GetName())
		}
	}
	slices.Sort(out)
	return out
}

// renderedObjects lists "Kind name" of the chart's objects for cfg, without the pods and
// replica sets the cluster derives from them.
func renderedObjects(t *testing.T, namespace string, cfg extension.Config) []string {
	t.Helper()
	ch, err := charts.Extension()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kube.Render(ch, "ext", namespace, extensionValues(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+" "+o.GetName())
	}
	slices.Sort(out)
	return out
}

// withoutDerived drops the pods and replica sets of a live list.
func withoutDerived(objs []string) []string {
	return slices.DeleteFunc(slices.Clone(objs), func(s string) bool {
		return strings.HasPrefix(s, "Pod ") || strings.HasPrefix(s, "ReplicaSet ")
	})
}

func apply(t *testing.T, r *kube.Releaser, cfg extension.Config) {
	t.Helper()
	ch, err := charts.Extension()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Apply(ctx, "ext", ch, extensionValues(cfg)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func uninstall(t *testing.T, r *kube.Releaser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.Uninstall(ctx, "ext"); err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
}

func status(t *testing.T, r *kube.Releaser) kube.ReleaseStatus {
	t.Helper()
	st, err := r.Status(context.Background(), "ext")
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

// expectGone checks that nothing labelled as the release's or as berth's is left.
func expectGone(t *testing.T, cfg *rest.Config, r *kube.Releaser) {
	t.Helper()
	if left := liveObjects(t, cfg, "app.kubernetes.io/part-of=berth"); len(left) > 0 {
		t.Errorf("objects left after Uninstall: %v", left)
	}
	if st := status(t, r); st.Exists {
		t.Errorf("release record left after Uninstall: %+v", st)
	}
}

func deploymentVersion(t *testing.T, cfg *rest.Config, namespace, name string) string {
	t.Helper()
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dc.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).
		Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.GetResourceVersion()
}

func testLifecycle(t *testing.T, cfg *rest.Config) {
	const ns = "berth-lifecycle"
	r := newReleaser(t, cfg, ns, nil)
	selector := "app.kubernetes.io/part-of=berth"

	// 1. A first Apply installs, creating the namespace.
	apply(t, r, training)
	if diff := cmp.Diff(renderedObjects(t, ns, training), withoutDerived(liveObjects(t, cfg, selector))); diff != "" {
		t.Fatalf("objects after install (-rendered +live):\n%s", diff)
	}
	if st := status(t, r); !st.Installed || st.Revision != 1 {
		t.Fatalf("status after install: %+v", st)
	}
	before := deploymentVersion(t, cfg, ns, "berth-operator")

	// 2. The same Apply again writes no revision and changes no object.
	apply(t, r, training)
	if st := status(t, r); !st.Installed || st.Revision != 1 {
		t.Errorf("status after a repeated Apply: %+v, want revision 1", st)
	}
	if after := deploymentVersion(t, cfg, ns, "berth-operator"); after != before {
		t.Errorf("berth-operator's resourceVersion went from %s to %s on a repeated Apply", before, after)
	}

	// 3. A repeated Apply re-creates an object deleted by hand, still without a revision.
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sa := schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	if err := dc.Resource(sa).Namespace(ns).Delete(context.Background(), "berth-operator", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	apply(t, r, training)
	if _, err := dc.Resource(sa).Namespace(ns).Get(context.Background(), "berth-operator", metav1.GetOptions{}); err != nil {
		t.Errorf("the deleted ServiceAccount is still missing after Apply: %v", err)
	}
	if st := status(t, r); st.Revision != 1 {
		t.Errorf("revision after re-creating an object: %d, want 1", st.Revision)
	}

	// 4. New settings upgrade: the router comes, then goes.
	apply(t, r, inference)
	if diff := cmp.Diff(renderedObjects(t, ns, inference), withoutDerived(liveObjects(t, cfg, selector))); diff != "" {
		t.Fatalf("objects after the upgrade to inference (-rendered +live):\n%s", diff)
	}
	apply(t, r, training)
	if diff := cmp.Diff(renderedObjects(t, ns, training), withoutDerived(liveObjects(t, cfg, selector))); diff != "" {
		t.Fatalf("objects after the upgrade back to training (-rendered +live):\n%s", diff)
	}
	if st := status(t, r); !st.Installed || st.Revision != 3 {
		t.Errorf("status after two upgrades: %+v, want revision 3", st)
	}

	// 5. Uninstall removes everything and waits for it; a second one is a no-op.
	uninstall(t, r)
	expectGone(t, cfg, r)
	uninstall(t, r)
}

func testInterruptedApply(t *testing.T, cfg *rest.Config) {
	tests := []struct {
		name string
		// before is applied first, when set; interrupted is the Apply cut off after
		// writes answered writes; after is the Apply that must converge.
		before      *extension.Config
		interrupted extension.Config
		writes      int64
		after       extension.Config
	}{
		{name: "install cut after the namespace", interrupted: withPrometheus, writes: 1, after: training},
		{name: "install cut after the release record", interrupted: withPrometheus, writes: 2, after: training},
		{name: "install cut among the objects", interrupted: withPrometheus, writes: 5, after: training},
		{name: "install cut late", interrupted: withPrometheus, writes: 9, after: withPrometheus},
		{name: "upgrade cut after the release record", before: &training, interrupted: withPrometheus, writes: 1, after: training},
		{name: "upgrade cut among new objects", before: &training, interrupted: withPrometheus, writes: 4, after: training},
		{name: "upgrade cut among removals", before: &withPrometheus, interrupted: training, writes: 3, after: inference},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := fmt.Sprintf("berth-interrupted-%d", i)
			r := newReleaser(t, cfg, ns, nil)
			if tt.before != nil {
				apply(t, r, *tt.before)
			}

			// 1. The interrupted Apply: no request reaches the cluster after the cut.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cut := newReleaser(t, cfg, ns, cancelAfterWrites(tt.writes, cancel))
			ch, err := charts.Extension()
			if err != nil {
				t.Fatal(err)
			}
			err = cut.Apply(ctx, "ext", ch, extensionValues(tt.interrupted))
			t.Logf("interrupted Apply: %v; release: %+v", err, status(t, r))

			// 2. The next Apply converges to its settings exactly.
			apply(t, r, tt.after)
			if diff := cmp.Diff(renderedObjects(t, ns, tt.after), withoutDerived(liveObjects(t, cfg, "app.kubernetes.io/part-of=berth"))); diff != "" {
				t.Errorf("objects after recovery (-rendered +live):\n%s", diff)
			}
			if st := status(t, r); !st.Installed {
				t.Errorf("status after recovery: %+v, want deployed", st)
			}

			// 3. And Uninstall leaves nothing.
			uninstall(t, r)
			expectGone(t, cfg, r)
		})
	}
}

// testKilledApply kills (SIGKILL) a process in the middle of an Apply, as a node failure or
// an OOM kill of the agent would, then applies again.
func testKilledApply(t *testing.T, cfg *rest.Config, kubeconfig string) {
	const ns = "berth-killed"
	r := newReleaser(t, cfg, ns, nil)

	// 1. A child process (this test binary) applies, slowly; it is killed once Helm has
	// written the release's record and a few objects, while it applies the others.
	child := exec.Command(os.Args[0], "-test.run=^TestApplyInAChildProcess$", "-test.v")
	child.Env = append(os.Environ(), "BERTH_KUBE_TEST_CHILD_KUBECONFIG="+kubeconfig, "BERTH_KUBE_TEST_CHILD_NAMESPACE="+ns)
	var out strings.Builder
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	secrets := dc.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace(ns)
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=ext"})
		return err == nil && len(list.Items) > 0 &&
			len(liveObjects(t, cfg, "app.kubernetes.io/part-of=berth")) >= 3, nil
	})
	_ = child.Process.Kill()
	_ = child.Wait()
	if err != nil {
		t.Fatalf("the child never wrote the release's record and objects: %v\n%s", err, out.String())
	}
	t.Logf("killed the child; release: %+v; objects: %v", status(t, r), liveObjects(t, cfg, "app.kubernetes.io/part-of=berth"))

	// 2. The next Apply converges.
	apply(t, r, training)
	if diff := cmp.Diff(renderedObjects(t, ns, training), withoutDerived(liveObjects(t, cfg, "app.kubernetes.io/part-of=berth"))); diff != "" {
		t.Errorf("objects after recovery (-rendered +live):\n%s", diff)
	}
	if st := status(t, r); !st.Installed {
		t.Errorf("status after recovery: %+v, want deployed", st)
	}
	uninstall(t, r)
	expectGone(t, cfg, r)
}

// TestApplyInAChildProcess is the child process of testKilledApply.
func TestApplyInAChildProcess(t *testing.T) {
	kubeconfig := os.Getenv("BERTH_KUBE_TEST_CHILD_KUBECONFIG")
	if kubeconfig == "" {
		t.Skip("runs as the child process of TestReleaserOnACluster")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	r := newReleaser(t, cfg, os.Getenv("BERTH_KUBE_TEST_CHILD_NAMESPACE"), slowWrites(300*time.Millisecond))
	apply(t, r, withPrometheus)
	t.Log("the Apply finished before the kill")
}

func testInterruptedUninstall(t *testing.T, cfg *rest.Config) {
	for _, writes := range []int64{1, 3} {
		t.Run(fmt.Sprintf("cut after %d writes", writes), func(t *testing.T) {
			ns := fmt.Sprintf("berth-uninstall-%d", writes)
			r := newReleaser(t, cfg, ns, nil)
			apply(t, r, inference)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cut := newReleaser(t, cfg, ns, cancelAfterWrites(writes, cancel))
			err := cut.Uninstall(ctx, "ext")
			t.Logf("interrupted Uninstall: %v; release: %+v", err, status(t, r))

			// An Apply after a cut Uninstall finishes the removal, then installs afresh.
			apply(t, r, training)
			if diff := cmp.Diff(renderedObjects(t, ns, training), withoutDerived(liveObjects(t, cfg, "app.kubernetes.io/part-of=berth"))); diff != "" {
				t.Errorf("objects after Apply (-rendered +live):\n%s", diff)
			}
			uninstall(t, r)
			expectGone(t, cfg, r)
		})
	}
}

func testAbsentRelease(t *testing.T, cfg *rest.Config) {
	r := newReleaser(t, cfg, "berth-absent", nil)
	uninstall(t, r)
	if st := status(t, r); st.Exists {
		t.Errorf("status of an absent release: %+v", st)
	}
}
