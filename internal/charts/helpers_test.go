package charts

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth/internal/kube"
)

// absent stands for a field the rendered object does not have.
const absent = "<absent>"

// rendered is a chart's objects, without the CustomResourceDefinitions that
// templates/crds.yaml (written elsewhere) contributes.
type rendered []*unstructured.Unstructured

func render(t *testing.T, ch *chart.Chart, release, namespace string, values map[string]any) rendered {
	t.Helper()
	objs, err := kube.Render(ch, release, namespace, values)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	return slices.DeleteFunc(objs, func(o *unstructured.Unstructured) bool {
		return o.GetKind() == "CustomResourceDefinition"
	})
}

// renderErr renders for the tests' release and namespace, returning the error.
func renderErr(ch *chart.Chart, values map[string]any) ([]*unstructured.Unstructured, error) {
	return kube.Render(ch, testRelease, testNamespace, values)
}

// chartFile is a file of a loaded chart.
type chartFile = common.File

func mustLoad(t *testing.T, name string) *chart.Chart {
	t.Helper()
	ch, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// names are the objects as "Kind/name", sorted.
func (r rendered) names() []string {
	out := make([]string, 0, len(r))
	for _, o := range r {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	slices.Sort(out)
	return out
}

func (r rendered) get(kind, name string) *unstructured.Unstructured {
	for _, o := range r {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// fields reads each "Kind/name path" of refs, where path is dot-separated with [i] for
// list items (keys with dots go in quotes: metadata.annotations."a.b/c").
func (r rendered) fields(refs []string) map[string]any {
	out := make(map[string]any, len(refs))
	for _, ref := range refs {
		out[ref] = r.field(ref)
	}
	return out
}

func (r rendered) field(ref string) any {
	obj, path, ok := strings.Cut(ref, " ")
	if !ok {
		panic("field ref without a path: " + ref)
	}
	kind, name, _ := strings.Cut(obj, "/")
	o := r.get(kind, name)
	if o == nil {
		return absent
	}
	var cur any = o.Object
	for _, step := range splitPath(path) {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[step]
			if !ok {
				return absent
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(strings.Trim(step, "[]"))
			if err != nil || i >= len(v) {
				return absent
			}
			cur = v[i]
		default:
			return absent
		}
	}
	return cur
}

// splitPath splits a.b[0]."c.d" into a, b, [0], c.d.
func splitPath(path string) []string {
	var steps []string
	for len(path) > 0 {
		switch {
		case path[0] == '.':
			path = path[1:]
		case path[0] == '"':
			end := strings.IndexByte(path[1:], '"') + 1
			steps = append(steps, path[1:end])
			path = path[end+1:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			steps = append(steps, path[:end+1])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			steps = append(steps, path[:end])
			path = path[end:]
		}
	}
	return steps
}

// list is a []any of strings, as unstructured objects hold string lists.
func list(items ...string) []any {
	out := make([]any, len(items))
	for i, s := range items {
		out[i] = s
	}
	return out
}

// dict is a map[string]any of string values.
func dict(kv ...string) map[string]any {
	if len(kv)%2 != 0 {
		panic(fmt.Sprint("dict needs pairs: ", kv))
	}
	out := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// envOf is a container's environment as name=value or name<-source strings.
func envOf(c map[string]any) []string {
	env, _ := c["env"].([]any)
	out := make([]string, 0, len(env))
	for _, e := range env {
		e := e.(map[string]any)
		name := e["name"].(string)
		if v, ok := e["value"]; ok {
			out = append(out, name+"="+v.(string))
			continue
		}
		from := e["valueFrom"].(map[string]any)
		switch {
		case from["fieldRef"] != nil:
			out = append(out, name+"<-field:"+from["fieldRef"].(map[string]any)["fieldPath"].(string))
		case from["secretKeyRef"] != nil:
			ref := from["secretKeyRef"].(map[string]any)
			out = append(out, name+"<-secret:"+ref["name"].(string)+"/"+ref["key"].(string))
		case from["configMapKeyRef"] != nil:
			ref := from["configMapKeyRef"].(map[string]any)
			out = append(out, name+"<-configmap:"+ref["name"].(string)+"/"+ref["key"].(string))
		}
	}
	return out
}

// podSpec is the pod template spec of a Deployment or DaemonSet.
func podSpec(o *unstructured.Unstructured) map[string]any {
	spec, _, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
	return spec
}

func firstContainer(o *unstructured.Unstructured) map[string]any {
	return podSpec(o)["containers"].([]any)[0].(map[string]any)
}
