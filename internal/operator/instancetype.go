package operator

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// DefaultInstanceTypeName is the InstanceType jobs and deployments get when they name none.
const DefaultInstanceTypeName = "defaultinstancetype"

// instanceTypesCRD defines InstanceType, in the group existing users' files already name.
const instanceTypesCRD = "instancetypes.amlarc.azureml.com"

var instanceTypeGVK = schema.GroupVersionKind{Group: "amlarc.azureml.com", Version: "v1alpha1", Kind: "InstanceType"}

// fieldOwner is the operator's name as a field manager.
const fieldOwner = "berth-operator"

// newInstanceType is an empty InstanceType. InstanceTypes are handled as unstructured
// objects: berth never needs more of them than a few fields, and no generated code is kept
// for them.
func newInstanceType() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(instanceTypeGVK)
	return u
}

// defaultInstanceType is the InstanceType the operator creates when namespace has none named
// defaultinstancetype: small on purpose (as the seed's), any node, no GPU.
func defaultInstanceType(namespace string) *unstructured.Unstructured {
	u := newInstanceType()
	u.SetNamespace(namespace)
	u.SetName(DefaultInstanceTypeName)
	u.SetLabels(map[string]string{"app.kubernetes.io/managed-by": fieldOwner})
	u.Object["spec"] = map[string]any{
		"resources": map[string]any{
			"requests": map[string]any{"cpu": "100m", "memory": "2Gi"},
			"limits":   map[string]any{"cpu": "2", "memory": "2Gi"},
		},
	}
	return u
}

// defaultInstanceTypeReconciler keeps an InstanceType named defaultinstancetype in its
// namespace. It only ever creates it: one the user created or edited stays as it is, since a
// user's defaultinstancetype takes the place of berth's; one deleted is created again.
type defaultInstanceTypeReconciler struct {
	client client.Client
}

func (r *defaultInstanceTypeReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	err := r.client.Get(ctx, req.NamespacedName, newInstanceType())
	if err == nil {
		return reconcile.Result{}, nil // berth's or the user's: either is kept as it is
	}
	if !apierrors.IsNotFound(err) {
		return reconcile.Result{}, fmt.Errorf("reading InstanceType %s: %w", req.Name, err)
	}

	err = r.client.Create(ctx, defaultInstanceType(req.Namespace), client.FieldOwner(fieldOwner))
	if apierrors.IsAlreadyExists(err) {
		return reconcile.Result{}, nil // the user's came first
	}
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("creating InstanceType %s: %w", req.Name, err)
	}
	// The reconcile's logger already names the object and its namespace.
	logFrom(ctx).Info("created the default instance type")
	return reconcile.Result{}, nil
}

// addDefaultInstanceType registers the default InstanceType's controller with mgr.
func addDefaultInstanceType(mgr manager.Manager, namespace string) error {
	key := types.NamespacedName{Namespace: namespace, Name: DefaultInstanceTypeName}
	isDefault := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == key.Namespace && o.GetName() == key.Name
	})
	// A missing object sends no event, so one request at start covers a namespace without it.
	atStart := source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		q.Add(reconcile.Request{NamespacedName: key})
		return nil
	})
	return builder.ControllerManagedBy(mgr).
		Named("defaultinstancetype").
		For(newInstanceType(), builder.WithPredicates(isDefault)).
		WatchesRawSource(atStart).
		Complete(&defaultInstanceTypeReconciler{client: mgr.GetClient()})
}

// logFrom is the logger controller-runtime gives a reconcile, with the controller, object and
// reconcile id, as a slog.Logger.
func logFrom(ctx context.Context) *slog.Logger {
	return slog.New(logr.ToSlogHandler(ctrllog.FromContext(ctx)))
}
