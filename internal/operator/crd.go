package operator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// waitForCRD returns once the CustomResourceDefinition name is established and its kind gvk
// is served, looking every interval. It logs each new reason to wait once. Being refused the
// read is an error: waiting would not change it.
func waitForCRD(
	ctx context.Context,
	r client.Reader,
	mapper meta.RESTMapper,
	name string,
	gvk schema.GroupVersionKind,
	every time.Duration,
	log *slog.Logger,
) error {
	said := ""
	for {
		why, err := crdNotEstablished(ctx, r, name)
		if err == nil && why == "" {
			// The API server adds an established CRD to its discovery a moment later; until
			// then informers of its kind cannot start.
			if _, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
				why = "it is established but not served yet: " + err.Error()
			}
		}
		switch {
		case err != nil && (apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)):
			return fmt.Errorf("reading CustomResourceDefinition %s: %w; the operator's ClusterRole must allow get on customresourcedefinitions", name, err)
		case err != nil:
			why = "the API server did not answer: " + err.Error()
		case why == "":
			log.Info("custom resource definition established", "crd", name)
			return nil
		}
		if why != said {
			log.Info("waiting for a custom resource definition to be established", "crd", name, "reason", why)
			said = why
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// crdNotEstablished says why the CRD name cannot be used yet, or "" when it can.
func crdNotEstablished(ctx context.Context, r client.Reader, name string) (string, error) {
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(crdGVK)
	err := r.Get(ctx, client.ObjectKey{Name: name}, crd)
	if apierrors.IsNotFound(err) {
		return "it is not installed; install the extension's chart, whose templates/crds.yaml defines it", nil
	}
	if err != nil {
		return "", err
	}
	conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conditions {
		c, _ := c.(map[string]any)
		if c["type"] != "Established" {
			continue
		}
		if c["status"] == "True" {
			return "", nil
		}
		return fmt.Sprintf("it is installed but not established: %v", c["message"]), nil
	}
	return "it is installed but not established yet", nil
}
