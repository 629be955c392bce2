package operator

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"berth/internal/syncbuf"
)

func TestOperatorKeepsDefaultInstanceType(t *testing.T) {
	cfg, c := connect(t)
	ctx := context.Background()
	const ns = "berth"
	createNamespace(t, c, ns)
	key := client.ObjectKey{Namespace: ns, Name: DefaultInstanceTypeName}

	// 1. The operator starts before its CRDs exist: alive, not ready, and waiting.
	probes, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + probes.Addr().String()
	runOperator(t, cfg, Options{Namespace: ns, HealthListener: probes, MetricsAddr: "0", CRDPollInterval: 50 * time.Millisecond})
	waitFor(t, "/healthz answers 200", func() (bool, error) { return get(base+"/healthz") == http.StatusOK, nil })
	if status := get(base + "/readyz"); status == http.StatusOK {
		t.Fatalf("/readyz answered %d before the CRDs were installed", status)
	}

	// 2. With the CRDs installed it becomes ready and creates defaultinstancetype, exactly
	// as the seed's.
	applyCRDs(t, c)
	waitFor(t, "/readyz answers 200", func() (bool, error) { return get(base+"/readyz") == http.StatusOK, nil })
	created := waitForInstanceType(t, c, key, "")
	want := map[string]any{"resources": map[string]any{
		"requests": map[string]any{"cpu": "100m", "memory": "2Gi"},
		"limits":   map[string]any{"cpu": "2", "memory": "2Gi"},
	}}
	if diff := cmp.Diff(want, created.Object["spec"]); diff != "" {
		t.Fatalf("defaultinstancetype's spec (-want +got):\n%s", diff)
	}

	// 3. The user's edit stays: the operator reconciles it and leaves it alone.
	idle := waitForIdle(t)
	edited := map[string]any{
		"nodeSelector": map[string]any{"pool": "gpu"},
		"resources": map[string]any{
			"requests": map[string]any{"cpu": "1", "memory": "4Gi"},
			"limits":   map[string]any{"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": int64(1)},
		},
	}
	created.Object["spec"] = edited
	if err := c.Update(ctx, created); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the edit is reconciled", func() (bool, error) { return reconciles() > idle, nil })
	waitForIdle(t)
	after := newInstanceType()
	if err := c.Get(ctx, key, after); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(edited, after.Object["spec"]); diff != "" || after.GetResourceVersion() != created.GetResourceVersion() {
		t.Errorf("the user's defaultinstancetype was changed (resourceVersion %s, was %s; -edited +now):\n%s",
			after.GetResourceVersion(), created.GetResourceVersion(), diff)
	}

	// 4. Deleted, it comes back as berth's.
	if err := c.Delete(ctx, after); err != nil {
		t.Fatal(err)
	}
	again := waitForInstanceType(t, c, key, after.GetUID())
	if diff := cmp.Diff(want, again.Object["spec"]); diff != "" {
		t.Errorf("recreated defaultinstancetype's spec (-want +got):\n%s", diff)
	}
}

// runOperator runs the operator until the test ends, keeping its log for a failure's report.
func runOperator(t *testing.T, cfg *rest.Config, opts Options) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, opts, slog.New(slog.NewTextHandler(logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("operator: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("the operator did not stop within 30 seconds of its context's end")
		}
		if t.Failed() {
			t.Logf("operator's log:\n%s", logs)
		}
	})
}

// get returns the status of GET url, or 0 if there was no answer.
func get(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitForInstanceType waits until the InstanceType key exists with another uid than notUID.
func waitForInstanceType(t *testing.T, c client.Client, key client.ObjectKey, notUID any) *unstructured.Unstructured {
	t.Helper()
	var got *unstructured.Unstructured
	waitFor(t, "InstanceType "+key.String()+" exists", func() (bool, error) {
		got = newInstanceType()
		err := c.Get(context.Background(), key, got)
		if apierrors.IsNotFound(err) {
			return false, err
		}
		return err == nil && string(got.GetUID()) != fmt.Sprint(notUID), err
	})
	return got
}

// reconciles is how many times the default InstanceType's controller reconciled, from
// controller-runtime's metrics.
func reconciles() float64 {
	families, _ := ctrlmetrics.Registry.Gather()
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "defaultinstancetype" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// waitForIdle waits until the controller has nothing queued or in progress, and returns its
// reconcile count then: a later reconcile was caused by a later event.
func waitForIdle(t *testing.T) float64 {
	t.Helper()
	var count float64
	waitFor(t, "the controller is idle", func() (bool, error) {
		count = reconciles()
		return gauge("workqueue_depth", "name") == 0 && gauge("controller_runtime_active_workers", "controller") == 0, nil
	})
	return count
}

// gauge is the value of the default InstanceType controller's series of a gauge.
func gauge(name, label string) float64 {
	families, _ := ctrlmetrics.Registry.Gather()
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == "defaultinstancetype" {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
