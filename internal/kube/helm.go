package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	helmkube "helm.sh/helm/v4/pkg/kube"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// FieldManager is the server-side apply field manager of everything berth applies, the
// same from the CLI and from the agent, so that neither takes fields from the other.
const FieldManager = "berth"

// Helm's marks of ownership on the objects of a release.
const (
	helmManagedByLabel         = "app.kubernetes.io/managed-by"
	managedByHelm              = "Helm"
	releaseNameAnnotation      = "meta.helm.sh/release-name"
	releaseNamespaceAnnotation = "meta.helm.sh/release-namespace"
)

const (
	// maxHistory bounds the revisions kept per release (Helm keeps one Secret for each).
	maxHistory = 10
	// defaultWait bounds Uninstall's wait for deletions when ctx has no deadline.
	defaultWait = 5 * time.Minute
)

var setFieldManager sync.Once

// Releaser installs, upgrades and removes Helm releases whose records live in one
// namespace, with the Helm SDK. Its methods are safe for concurrent use; calls on one
// Releaser run one at a time.
//
// It assumes it is the only writer of its releases: the agent is a single replica that
// owns the extension's release, and `berth cluster connect` owns the agent's. A release
// left pending is therefore an interrupted operation, never one in progress elsewhere.
type Releaser struct {
	// Logger receives the Releaser's and Helm's logs; nil means slog.Default().
	Logger *slog.Logger

	getter    genericclioptions.RESTClientGetter
	namespace string
	mu        sync.Mutex
}

// NewReleaser returns a Releaser for releases in namespace, reaching the cluster through
// getter. Only getter's REST config is used: each call builds its own clients, bound to
// the call's context.
func NewReleaser(getter genericclioptions.RESTClientGetter, namespace string) *Releaser {
	// Helm names the field manager after the executable unless told; the CLI, the agent and
	// the tests must all apply as the same manager.
	setFieldManager.Do(func() {
		if helmkube.ManagedFieldsManager == "" {
			helmkube.ManagedFieldsManager = FieldManager
		}
	})
	return &Releaser{getter: getter, namespace: namespace}
}

// NewReleaserFromKubeconfig returns a Releaser for releases in namespace on the cluster
// of a kubeconfig: the file at path (empty: $KUBECONFIG or ~/.kube/config) and its
// context (empty: the current one). This is the CLI's case.
func NewReleaserFromKubeconfig(path, context, namespace string) (*Releaser, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	config, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w; pass --kubeconfig and --kube-context, or set KUBECONFIG", err)
	}
	return NewReleaser(NewRESTConfigGetter(config, namespace), namespace), nil
}

// NewReleaserInCluster returns a Releaser for releases in namespace on the cluster the
// process runs in: the kubeconfig named by $KUBECONFIG when set, the pod's service account
// otherwise. This is the agent's case.
func NewReleaserInCluster(namespace string) (*Releaser, error) {
	var config *rest.Config
	var err error
	if os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "" {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		config, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	} else {
		config, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("finding the cluster: %w; run in a pod with a service account, or set KUBECONFIG", err)
	}
	return NewReleaser(NewRESTConfigGetter(config, namespace), namespace), nil
}

// Namespace is where the Releaser's releases live.
func (r *Releaser) Namespace() string { return r.namespace }

func (r *Releaser) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Apply makes release run chart ch with values: it installs the release when absent and
// upgrades it when present, creating the namespace. It applies with server-side apply and
// does not wait for readiness. Applying what is already deployed writes no new revision; it
// only re-applies the objects, which repairs objects deleted or edited by hand.
//
// Apply converges from a previous Apply or Uninstall that was interrupted (killed, or its
// context cancelled): a release left pending-install, pending-upgrade or pending-rollback is
// marked failed and upgraded from, objects that only the interrupted revisions created are
// deleted, and a half-done removal is finished before the install. ctx bounds the call;
// once it is done no further request reaches the cluster.
func (r *Releaser) Apply(ctx context.Context, name string, ch *chart.Chart, values map[string]any) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	log := r.logger().With("release", name, "namespace", r.namespace)
	cfg, err := r.actionConfig(ctx, log)
	if err != nil {
		return err
	}
	history, err := releaseHistory(cfg, name)
	if err != nil {
		return err
	}

	// No record: a first install.
	if len(history) == 0 {
		return r.install(ctx, cfg, log, name, ch, values)
	}

	last := history[len(history)-1]
	status := last.Info.Status
	switch {
	case status == rcommon.StatusUninstalling || status == rcommon.StatusUninstalled:
		// A removal was interrupted (or kept its history): finish it, then install afresh.
		log.Info("finishing an interrupted uninstall before installing", "revision", last.Version, "status", string(status))
		if err := r.uninstall(ctx, cfg, log, name, history); err != nil {
			return err
		}
		return r.install(ctx, cfg, log, name, ch, values)

	case status.IsPending():
		// Nothing else writes this release (see Releaser), so the operation that left it
		// pending is dead. Marking it failed lets Helm upgrade from it.
		log.Warn("recovering a release left by an interrupted operation", "revision", last.Version, "status", string(status))
		last.SetStatus(rcommon.StatusFailed, fmt.Sprintf("Interrupted while %s; recovered by berth", status))
		if err := cfg.Releases.Update(last); err != nil {
			return fmt.Errorf("marking the interrupted revision %d of release %s failed: %w", last.Version, name, err)
		}
	}

	// What the upgrade would apply, rendered as the upgrade renders it.
	next, err := r.dryRunUpgrade(ctx, cfg, name, ch, values)
	if err != nil {
		return err
	}
	if status == rcommon.StatusDeployed {
		same, err := sameRelease(last, next, values)
		if err != nil {
			return err
		}
		if same {
			log.Debug("release unchanged; re-applying its objects", "revision", last.Version)
			return r.reapply(cfg, name, last)
		}
	} else {
		// Helm's upgrade removes only the objects of the last deployed revision that the new
		// one drops; those that only the failed or interrupted revisions since then created
		// go first. Done before the new revision is written, so that an Apply killed after
		// it still finds them in the history.
		if err := r.prune(cfg, log, name, liveRevisions(history), next.Manifest); err != nil {
			return err
		}
	}

	return r.upgrade(ctx, cfg, log, name, ch, values)
}

// install runs a first install of the release.
func (r *Releaser) install(ctx context.Context, cfg *action.Configuration, log *slog.Logger, name string, ch *chart.Chart, values map[string]any) error {
	in := action.NewInstall(cfg)
	in.ReleaseName = name
	in.Namespace = r.namespace
	in.CreateNamespace = true
	// Server-side apply creates with a patch, so objects that an interrupted install left
	// behind are taken over instead of failing with AlreadyExists.
	in.ServerSideApply = true
	in.ForceConflicts = true
	// No waiting for readiness: the caller checks it.
	in.WaitStrategy = helmkube.HookOnlyStrategy
	// The server validates each object strictly when it applies it; the client-side check
	// would first download the cluster's OpenAPI documents on every call.
	in.DisableOpenAPIValidation = true

	log.Info("installing release", "chart", ch.Metadata.Name, "chart_version", ch.Metadata.Version)
	if _, err := in.RunWithContext(ctx, ch, values); err != nil {
		return fmt.Errorf("installing release %s in namespace %s: %w", name, r.namespace, err)
	}
	return nil
}

// newUpgrade is the Upgrade every path uses, so that a dry run renders what the real one
// applies.
func (r *Releaser) newUpgrade(cfg *action.Configuration) *action.Upgrade {
	up := action.NewUpgrade(cfg)
	up.Namespace = r.namespace
	// The values are exactly those given, never merged with the previous revision's.
	up.ResetValues = true
	// Server-side apply, forcing conflicts: berth's settings are the truth for these
	// objects, over hand edits and over an interrupted apply's leftovers.
	up.ServerSideApply = "true"
	up.ForceConflicts = true
	up.WaitStrategy = helmkube.HookOnlyStrategy
	up.DisableOpenAPIValidation = true // as in install
	up.MaxHistory = maxHistory
	return up
}

// upgrade writes a new revision of the release and applies it.
func (r *Releaser) upgrade(ctx context.Context, cfg *action.Configuration, log *slog.Logger, name string, ch *chart.Chart, values map[string]any) error {
	reli, err := r.newUpgrade(cfg).RunWithContext(ctx, name, ch, values)
	if err != nil {
		return fmt.Errorf("upgrading release %s in namespace %s: %w", name, r.namespace, err)
	}
	if rel, ok := reli.(*release.Release); ok {
		log.Info("upgraded release", "revision", rel.Version)
	}
	return nil
}

// dryRunUpgrade renders the release's next revision as upgrade would, without writing it.
func (r *Releaser) dryRunUpgrade(ctx context.Context, cfg *action.Configuration, name string, ch *chart.Chart, values map[string]any) (*release.Release, error) {
	up := r.newUpgrade(cfg)
	up.DryRunStrategy = action.DryRunServer
	reli, err := up.RunWithContext(ctx, name, ch, values)
	if err != nil {
		return nil, fmt.Errorf("rendering the next revision of release %s: %w", name, err)
	}
	rel, ok := reli.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("rendering the next revision of release %s: Helm returned a %T", name, reli)
	}
	return rel, nil
}

// sameRelease reports whether revision next (rendered from values) would apply the same
// objects, with the same values and chart, as the deployed revision last.
func sameRelease(last, next *release.Release, values map[string]any) (bool, error) {
	if last.Chart == nil || last.Chart.Metadata == nil || next.Chart == nil || next.Chart.Metadata == nil {
		return false, nil
	}
	same, err := sameJSON(last.Config, values)
	if err != nil {
		return false, err
	}
	return same && next.Manifest == last.Manifest &&
		last.Chart.Metadata.Version == next.Chart.Metadata.Version &&
		last.Chart.Metadata.AppVersion == next.Chart.Metadata.AppVersion, nil
}

// reapply server-side applies the objects of the deployed revision rel again, as Helm
// applied them, without writing a revision. Unchanged objects stay untouched on the server.
func (r *Releaser) reapply(cfg *action.Configuration, name string, rel *release.Release) error {
	resources, err := cfg.KubeClient.Build(strings.NewReader(rel.Manifest), false)
	if err != nil {
		return fmt.Errorf("reading the objects of release %s: %w", name, err)
	}
	if len(resources) == 0 {
		return nil
	}
	if err := resources.Visit(markOwned(name, r.namespace)); err != nil {
		return err
	}
	if _, err := cfg.KubeClient.Create(resources, helmkube.ClientCreateOptionServerSideApply(true, true)); err != nil {
		return fmt.Errorf("re-applying the objects of release %s: %w", name, err)
	}
	return nil
}

// markOwned sets the label and annotations Helm puts on every object of a release.
func markOwned(name, namespace string) resource.VisitorFunc {
	return func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		obj, err := meta.Accessor(info.Object)
		if err != nil {
			return err
		}
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[helmManagedByLabel] = managedByHelm
		obj.SetLabels(labels)
		annotations := obj.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[releaseNameAnnotation] = name
		annotations[releaseNamespaceAnnotation] = namespace
		obj.SetAnnotations(annotations)
		return nil
	}
}

// prune deletes the objects of revisions that manifest does not have, when they still
// exist and belong to the release. It does not wait for them to go.
func (r *Releaser) prune(cfg *action.Configuration, log *slog.Logger, name string, revisions []*release.Release, manifest string) error {
	orphans, err := r.ownedObjects(cfg, log, name, revisions, manifest)
	if err != nil || len(orphans) == 0 {
		return err
	}
	for _, info := range orphans {
		log.Info("deleting an object the release no longer has", "kind", info.Mapping.GroupVersionKind.Kind, "name", info.Name, "object_namespace", info.Namespace)
	}
	if _, errs := cfg.KubeClient.Delete(orphans, metav1.DeletePropagationForeground); len(errs) > 0 {
		return fmt.Errorf("deleting objects of release %s: %w", name, errors.Join(errs...))
	}
	return nil
}

// ownedObjects are the objects of the revisions' manifests, except those of manifest, that
// exist and belong to the release.
func (r *Releaser) ownedObjects(cfg *action.Configuration, log *slog.Logger, name string, revisions []*release.Release, manifest string) (helmkube.ResourceList, error) {
	skip := map[string]bool{}
	for _, info := range buildEach(cfg, log, manifest) {
		skip[objectKey(info)] = true
	}
	var owned helmkube.ResourceList
	for _, rel := range revisions {
		for _, info := range buildEach(cfg, log, rel.Manifest) {
			key := objectKey(info)
			if skip[key] {
				continue
			}
			skip[key] = true // once is enough
			ok, err := ownedBy(info, name, r.namespace)
			if err != nil {
				return nil, err
			}
			if ok {
				owned = append(owned, info)
			}
		}
	}
	return owned, nil
}

// ownedBy fetches info's object and reports whether it exists and belongs to the release.
func ownedBy(info *resource.Info, name, namespace string) (bool, error) {
	if err := info.Get(); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading %s %s: %w", info.Mapping.GroupVersionKind.Kind, info.Name, err)
	}
	obj, err := meta.Accessor(info.Object)
	if err != nil {
		return false, err
	}
	a := obj.GetAnnotations()
	return a[releaseNameAnnotation] == name && a[releaseNamespaceAnnotation] == namespace, nil
}

// buildEach builds the objects of a manifest one document at a time, skipping (with a
// warning) those whose kind the cluster no longer serves.
func buildEach(cfg *action.Configuration, log *slog.Logger, manifest string) helmkube.ResourceList {
	var out helmkube.ResourceList
	for _, doc := range sortedDocs(manifest) {
		infos, err := cfg.KubeClient.Build(strings.NewReader(doc), false)
		if err != nil {
			log.Warn("skipping an object the cluster cannot map", "error", err)
			continue
		}
		out = append(out, infos...)
	}
	return out
}

// sortedDocs are a manifest's documents in their order.
func sortedDocs(manifest string) []string {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, docs[k])
	}
	return out
}

// objectKey names an object independently of its API version.
func objectKey(info *resource.Info) string {
	gk := info.Mapping.GroupVersionKind.GroupKind()
	return gk.String() + "/" + info.Namespace + "/" + info.Name
}

// liveRevisions are the revisions whose objects may exist on the cluster, oldest first:
// the last deployed one and those after it (failed or interrupted), or all of them when
// none was deployed. Apply prunes before it writes a revision, so the objects of earlier
// revisions are gone.
func liveRevisions(history []*release.Release) []*release.Release {
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Info.Status == rcommon.StatusDeployed {
			return history[i:]
		}
	}
	return history
}

// Uninstall removes the release and its objects and waits, within ctx, until they are
// gone. A release that does not exist is not an error; an interrupted Apply or Uninstall
// is finished, including the objects only its interrupted revisions created.
func (r *Releaser) Uninstall(ctx context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	log := r.logger().With("release", name, "namespace", r.namespace)
	cfg, err := r.actionConfig(ctx, log)
	if err != nil {
		return err
	}
	history, err := releaseHistory(cfg, name)
	if err != nil {
		return err
	}
	if len(history) == 0 {
		return nil
	}
	return r.uninstall(ctx, cfg, log, name, history)
}

// uninstall removes a release whose history is known. It deletes the objects itself and
// waits for them to go before Helm removes the release's records, so that an interrupted
// Uninstall leaves the records that name what is left.
func (r *Releaser) uninstall(ctx context.Context, cfg *action.Configuration, log *slog.Logger, name string, history []*release.Release) error {
	wait := defaultWait
	if deadline, ok := ctx.Deadline(); ok {
		wait = time.Until(deadline)
	}

	// Every object of the revisions that may have objects (interrupted ones included) that
	// exists and belongs to the release.
	live := liveRevisions(history)
	owned, err := r.ownedObjects(cfg, log, name, live, "")
	if err != nil {
		return err
	}
	if len(owned) > 0 {
		manifests := make([]string, 0, len(live))
		for _, rel := range live {
			manifests = append(manifests, rel.Manifest)
		}
		waitForCRDStorage(ctx, cfg, log, manifests...)

		// Foreground: a Deployment is gone only once its pods are, so nothing of the
		// release remains when Uninstall returns.
		log.Info("deleting the objects of release", "revision", history[len(history)-1].Version, "objects", len(owned))
		if _, errs := cfg.KubeClient.Delete(owned, metav1.DeletePropagationForeground); len(errs) > 0 {
			return fmt.Errorf("deleting the objects of release %s: %w", name, errors.Join(errs...))
		}
		if err := waitDeleted(ctx, owned, wait); err != nil {
			return fmt.Errorf("waiting for the objects of release %s to go: %w", name, err)
		}
	}

	// Helm finds the objects gone, runs the delete hooks and removes the records.
	un := action.NewUninstall(cfg)
	un.IgnoreNotFound = true
	un.KeepHistory = false
	un.DeletionPropagation = "foreground"
	un.WaitStrategy = helmkube.HookOnlyStrategy
	un.Timeout = wait
	if _, err := un.Run(name); err != nil {
		return fmt.Errorf("uninstalling release %s from namespace %s: %w", name, r.namespace, err)
	}
	log.Info("uninstalled release")
	return nil
}

// waitDeleted polls until none of objects exists, for at most timeout.
func waitDeleted(ctx context.Context, objects helmkube.ResourceList, timeout time.Duration) error {
	left := slices.Clone(objects)
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var still helmkube.ResourceList
		for _, info := range left {
			_, err := resource.NewHelper(info.Client, info.Mapping).Get(info.Namespace, info.Name)
			if apierrors.IsNotFound(err) {
				continue
			}
			still = append(still, info)
		}
		left = still
		return len(left) == 0, nil
	})
	if err != nil {
		names := make([]string, 0, len(left))
		for _, info := range left {
			names = append(names, info.Mapping.GroupVersionKind.Kind+" "+info.Name)
		}
		return fmt.Errorf("%w; still there: %s", err, strings.Join(names, ", "))
	}
	return nil
}

// crdStorageWait bounds waitForCRDStorage.
const crdStorageWait = 30 * time.Second

// waitForCRDStorage waits until the API server lists the custom resources of the
// CustomResourceDefinitions in manifests, for at most crdStorageWait. kube-apiserver
// initializes a new CRD's storage in the background; a CRD deleted before that is done
// fails its cleanup with "storage is (re)initializing", and the retries back off, per CRD
// name, to minutes. A quick install and uninstall (as in tests) would then wait that long.
func waitForCRDStorage(ctx context.Context, cfg *action.Configuration, log *slog.Logger, manifests ...string) {
	var lists []schema.GroupVersionResource
	seen := map[schema.GroupVersionResource]bool{}
	for _, manifest := range manifests {
		objs, err := decodeManifest(manifest)
		if err != nil {
			continue
		}
		for _, obj := range objs {
			gvr, ok := crdResource(obj)
			if ok && !seen[gvr] {
				seen[gvr] = true
				lists = append(lists, gvr)
			}
		}
	}
	if len(lists) == 0 {
		return
	}

	config, err := cfg.RESTClientGetter.ToRESTConfig()
	if err != nil {
		return
	}
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, crdStorageWait)
	defer cancel()
	for _, gvr := range lists {
		err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := client.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
			// Not found: the CRD is gone already (or not served), nothing to wait for.
			return err == nil || apierrors.IsNotFound(err), nil
		})
		if err != nil {
			log.Warn("custom resources still not listable; deleting their CRD anyway", "resource", gvr.String())
		}
	}
}

// crdResource is the resource a CustomResourceDefinition serves, at its first served
// version.
func crdResource(obj *unstructured.Unstructured) (schema.GroupVersionResource, bool) {
	if obj.GetKind() != "CustomResourceDefinition" {
		return schema.GroupVersionResource{}, false
	}
	group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(obj.Object, "spec", "versions")
	for _, v := range versions {
		version, ok := v.(map[string]any)
		if !ok {
			continue
		}
		name, _ := version["name"].(string)
		if served, _ := version["served"].(bool); served && name != "" && group != "" && plural != "" {
			return schema.GroupVersionResource{Group: group, Version: name, Resource: plural}, true
		}
	}
	return schema.GroupVersionResource{}, false
}

// ReleaseStatus is what Status reports.
type ReleaseStatus struct {
	// Exists says the release has a record. Installed says its last revision is deployed.
	Exists    bool
	Installed bool
	// Status is the last revision's Helm status (deployed, failed, pending-install...),
	// Revision its number and Description what Helm said of it.
	Status      string
	Revision    int
	Description string
}

// Status reports the release's last revision.
func (r *Releaser) Status(ctx context.Context, name string) (ReleaseStatus, error) {
	cfg, err := r.actionConfig(ctx, r.logger().With("release", name, "namespace", r.namespace))
	if err != nil {
		return ReleaseStatus{}, err
	}
	history, err := releaseHistory(cfg, name)
	if err != nil || len(history) == 0 {
		return ReleaseStatus{}, err
	}
	last := history[len(history)-1]
	return ReleaseStatus{
		Exists:      true,
		Installed:   last.Info.Status == rcommon.StatusDeployed,
		Status:      string(last.Info.Status),
		Revision:    last.Version,
		Description: last.Info.Description,
	}, nil
}

// releaseHistory is the release's revisions, oldest first; none when it does not exist.
func releaseHistory(cfg *action.Configuration, name string) ([]*release.Release, error) {
	records, err := cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the history of release %s: %w", name, err)
	}
	history := make([]*release.Release, 0, len(records))
	for _, rec := range records {
		rel, ok := rec.(*release.Release)
		if !ok {
			return nil, fmt.Errorf("reading the history of release %s: a record of type %T", name, rec)
		}
		history = append(history, rel)
	}
	releaseutil.SortByRevision(history)
	return history, nil
}

// actionConfig is a Helm configuration whose every request is bound to ctx: once ctx is
// done, the work Helm leaves running in the background after a cancellation cannot touch
// the cluster any more.
func (r *Releaser) actionConfig(ctx context.Context, log *slog.Logger) (*action.Configuration, error) {
	base, err := r.getter.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("configuring the Kubernetes client: %w", err)
	}
	config := rest.CopyConfig(base)
	config.Wrap(bindToContext(ctx))

	cfg := action.NewConfiguration(action.ConfigurationSetLogger(log.Handler()))
	if err := cfg.Init(NewRESTConfigGetter(config, r.namespace), r.namespace, "secret"); err != nil {
		return nil, fmt.Errorf("configuring Helm: %w", err)
	}
	if kc, ok := cfg.KubeClient.(*helmkube.Client); ok {
		kc.Namespace = r.namespace
	}
	return cfg, nil
}

// sameJSON reports whether a and b encode to the same JSON, which ignores the difference
// between the ints given and the float64s a stored release decodes to.
func sameJSON(a, b map[string]any) (bool, error) {
	ja, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ja, jb), nil
}

// Render renders chart ch for release in namespace with values without a cluster, as
// `helm template` does, and returns its objects in Helm's install order.
func Render(ch *chart.Chart, releaseName, namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	in := action.NewInstall(cfg)
	in.DryRunStrategy = action.DryRunClient
	in.ReleaseName = releaseName
	in.Namespace = namespace

	reli, err := in.RunWithContext(context.Background(), ch, values)
	if err != nil {
		return nil, fmt.Errorf("rendering chart %s: %w", ch.Name(), err)
	}
	rel, ok := reli.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("rendering chart %s: Helm returned a %T", ch.Name(), reli)
	}
	return decodeManifest(rel.Manifest)
}

// decodeManifest parses a multi-document YAML manifest into objects, skipping empty
// documents.
func decodeManifest(manifest string) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("splitting the rendered manifest: %w", err)
		}
		data, err := utilyaml.ToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("parsing a rendered object: %w", err)
		}
		if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("parsing a rendered object: %w", err)
		}
		objs = append(objs, obj)
	}
}
