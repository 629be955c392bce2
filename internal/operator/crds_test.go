package operator

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"berth/test/testcluster"
)

// crdsFile is the extension chart's CRDs. It uses no template actions, so the tests apply it
// as it is.
const crdsFile = "../charts/extension/templates/crds.yaml"

// connect returns a config and a client for a new test cluster's API server.
func connect(t *testing.T) (*rest.Config, client.Client) {
	t.Helper()
	cluster := testcluster.Start(t, 0)
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, c
}

// decodeYAML returns the objects of a multi-document YAML text.
func decodeYAML(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decoding YAML: %v", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// applyCRDs creates the chart's CRDs and returns their names.
func applyCRDs(t *testing.T, c client.Client) []string {
	t.Helper()
	data, err := os.ReadFile(crdsFile)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, crd := range decodeYAML(t, data) {
		if err := c.Create(context.Background(), crd); err != nil {
			t.Fatalf("creating %s %s: %v", crd.GetKind(), crd.GetName(), err)
		}
		names = append(names, crd.GetName())
	}
	return names
}

func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after 30 seconds.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s (last error: %v)", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCRDsAcceptAzureFilesAndRejectBadResources(t *testing.T) {
	_, c := connect(t)
	ctx := context.Background()
	for _, name := range applyCRDs(t, c) {
		waitFor(t, name+" is established", func() (bool, error) {
			why, err := crdNotEstablished(ctx, c, name)
			return err == nil && why == "", err
		})
	}
	createNamespace(t, c, "team-a")

	// Files written for the Azure ML extension, from its documentation: they apply unchanged,
	// InstanceTypeList included (kubectl creates its items one by one, as this does).
	good := []struct{ name, yaml string }{
		{"single", `
apiVersion: amlarc.azureml.com/v1alpha1
kind: InstanceType
metadata:
  name: myinstancetypename
spec:
  nodeSelector:
    mylabel: mylabelvalue
  resources:
    limits:
      cpu: "1"
      nvidia.com/gpu: 1
      memory: "2Gi"
    requests:
      cpu: "700m"
      memory: "1500Mi"
`},
		{"list", `
apiVersion: amlarc.azureml.com/v1alpha1
kind: InstanceTypeList
items:
  - metadata:
      name: cpusmall
    spec:
      resources:
        limits:
          cpu: "100m"
          nvidia.com/gpu: 0
          memory: "1Gi"
        requests:
          cpu: "100m"
          memory: "10Mi"
  - metadata:
      name: defaultinstancetype
    spec:
      resources:
        limits:
          cpu: "1"
          nvidia.com/gpu: 0
          memory: "1Gi"
        requests:
          cpu: "1"
          memory: "1Gi"
`},
		{"default with a null GPU and integer CPUs", `
apiVersion: amlarc.azureml.com/v1alpha1
kind: InstanceType
metadata:
  name: seeddefault
spec:
  resources:
    requests:
      cpu: 1
      memory: "2Gi"
    limits:
      cpu: 2
      memory: "2Gi"
      nvidia.com/gpu: null
`},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			for _, obj := range instanceTypes(t, tt.yaml) {
				obj.SetNamespace("team-a")
				if err := c.Create(ctx, obj); err != nil {
					t.Errorf("creating %s: %v", obj.GetName(), err)
				}
			}
		})
	}

	bad := []struct {
		name, spec string
		want       []string // parts of the API server's message
	}{
		{"cpu not a quantity", `{resources: {limits: {cpu: lots}}}`,
			[]string{`spec.resources.limits.cpu: Invalid value: "lots": spec.resources.limits.cpu in body should match`}},
		{"negative cpu", `{resources: {requests: {cpu: -1}}}`,
			[]string{`spec.resources.requests.cpu: Invalid value: -1: spec.resources.requests.cpu in body should be greater than or equal to 0`}},
		{"negative memory as text", `{resources: {limits: {memory: "-1Gi"}}}`,
			[]string{`spec.resources.limits.memory: Invalid value: "-1Gi"`}},
		{"fractional cpu not quoted", `{resources: {limits: {cpu: 0.5}}}`,
			[]string{`spec.resources.limits.cpu in body must be of type integer,string`}},
		{"gpu as text", `{resources: {limits: {nvidia.com/gpu: "1"}}}`,
			[]string{`spec.resources.limits.nvidia.com/gpu in body must be of type integer: "string"`}},
		{"negative gpu", `{resources: {limits: {nvidia.com/gpu: -1}}}`,
			[]string{`spec.resources.limits.nvidia.com/gpu in body should be greater than or equal to 0`}},
		{"node selector value not text", `{nodeSelector: {pool: 1}}`,
			[]string{`spec.nodeSelector.pool in body must be of type string: "integer"`}},
		{"requests above limits", `{resources: {requests: {cpu: 1500m, memory: 3Gi}, limits: {cpu: 1, memory: 2Gi}}}`,
			[]string{
				"spec.resources.requests.cpu: Invalid value: requests.cpu is more than limits.cpu; a pod can never get more than its limit, so lower the request or raise the limit",
				"spec.resources.requests.memory: Invalid value: requests.memory is more than limits.memory; a pod can never get more than its limit, so lower the request or raise the limit",
			}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			obj := instanceTypes(t, "apiVersion: amlarc.azureml.com/v1alpha1\nkind: InstanceType\nmetadata: {name: bad, namespace: team-a}\nspec: "+tt.spec)[0]
			err := c.Create(ctx, obj)
			if err == nil {
				c.Delete(ctx, obj)
				t.Fatalf("created; want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}

	t.Run("unknown fields are pruned", func(t *testing.T) {
		obj := instanceTypes(t, `
apiVersion: amlarc.azureml.com/v1alpha1
kind: InstanceType
metadata: {name: pruned, namespace: team-a}
spec:
  nodeselector: {pool: gpu}
  resources: {limits: {cpu: "1", amd.com/gpu: 1}}
`)[0]
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		got := newInstanceType()
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "1"}}}
		if diff := cmp.Diff(want, got.Object["spec"]); diff != "" {
			t.Errorf("stored spec (-want +got):\n%s", diff)
		}
	})
}

// instanceTypes decodes InstanceTypes, expanding an InstanceTypeList into its items as
// kubectl does.
func instanceTypes(t *testing.T, text string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, obj := range decodeYAML(t, []byte(text)) {
		if !obj.IsList() {
			objs = append(objs, obj)
			continue
		}
		list, err := obj.ToList()
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if item.GetKind() == "" {
				item.SetAPIVersion(list.GetAPIVersion())
				item.SetKind(strings.TrimSuffix(list.GetKind(), "List"))
			}
			objs = append(objs, item)
		}
	}
	return objs
}

func TestMain(m *testing.M) {
	// Run sets controller-runtime's logger; until then the clients the tests make would log
	// nowhere and, after 30 seconds, complain that no logger was set.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
