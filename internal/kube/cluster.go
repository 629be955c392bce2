package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrKubeconfig marks errors in what the user named: a kubeconfig or context that does not
// exist. The CLI exits 2 on them.
var ErrKubeconfig = errors.New("kubeconfig")

// Cluster is a connection to one cluster's API server.
type Cluster struct {
	Config    *rest.Config
	Clientset kubernetes.Interface
	// Host is the API server's address, for messages.
	Host string

	kubeconfig, context string
}

// Connect loads a cluster's connection the way kubectl does: the kubeconfig at path, else
// $KUBECONFIG or ~/.kube/config, else the pod's service account when running in a cluster;
// kubeContext picks a context ("" for the current one). It checks that the API server
// answers.
func Connect(path, kubeContext string) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	if kubeContext != "" {
		raw, err := loader.RawConfig()
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrKubeconfig, kubeconfigName(path), err)
		}
		if _, ok := raw.Contexts[kubeContext]; !ok {
			var names []string
			for n := range raw.Contexts {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("%w: context %q is not in %s; it has: %v", ErrKubeconfig, kubeContext, kubeconfigName(path), names)
		}
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v; pass --kubeconfig with the cluster's kubeconfig", ErrKubeconfig, kubeconfigName(path), err)
	}
	cfg.Timeout = 30 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		return nil, fmt.Errorf("cannot reach the cluster's API server at %s: %v; check the kubeconfig and that the cluster runs", cfg.Host, err)
	}
	return &Cluster{Config: cfg, Clientset: cs, Host: cfg.Host, kubeconfig: path, context: kubeContext}, nil
}

func kubeconfigName(path string) string {
	if path == "" {
		return "the default kubeconfig ($KUBECONFIG or ~/.kube/config)"
	}
	return path
}

// Releaser returns a Helm releaser for namespace on this cluster, logging to log.
func (c *Cluster) Releaser(namespace string, log *slog.Logger) (*Releaser, error) {
	r, err := NewReleaserFromKubeconfig(c.kubeconfig, c.context, namespace)
	if err != nil {
		return nil, err
	}
	r.Logger = log
	return r, nil
}

// managedByLabel marks the namespaces berth created, so that it deletes only those.
const managedByLabel = "app.kubernetes.io/managed-by"

// EnsureNamespace creates a namespace labelled as berth's, unless it exists. One still being
// deleted (a disconnect just before) is waited for, within ctx, and made again.
func (c *Cluster) EnsureNamespace(ctx context.Context, name string) error {
	existing, err := c.Clientset.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil && existing.DeletionTimestamp == nil:
		return nil
	case err == nil:
		if err := c.waitNamespaceGone(ctx, name); err != nil {
			return err
		}
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("reading namespace %s: %w", name, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{managedByLabel: "berth"}}}
	_, err = c.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// DeleteNamespace deletes a namespace berth created and waits, within ctx, until the
// namespace controller has removed what was left in it and the namespace is gone. One berth
// did not create is left alone.
func (c *Cluster) DeleteNamespace(ctx context.Context, name string) error {
	ns, err := c.Clientset.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.Labels[managedByLabel] != "berth" {
		return nil
	}
	if err := c.Clientset.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	return c.waitNamespaceGone(ctx, name)
}

// namespaceDeleteWait bounds the wait for a namespace's deletion: the namespace controller
// first removes everything in it, and a pod's grace period can hold it.
const namespaceDeleteWait = 3 * time.Minute

// waitNamespaceGone waits until a deleted namespace is gone.
func (c *Cluster) waitNamespaceGone(ctx context.Context, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, namespaceDeleteWait, true, func(ctx context.Context) (bool, error) {
		_, err := c.Clientset.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return fmt.Errorf("waiting for namespace %s to be deleted (see kubectl get namespace %s -o yaml): %w", name, name, err)
	}
	return nil
}

// DeploymentEnv returns the value of variable in the first container of Deployment name that
// sets it; found is false when the Deployment does not exist or sets no such variable.
func (c *Cluster) DeploymentEnv(ctx context.Context, namespace, name, variable string) (value string, found bool, err error) {
	d, err := c.Clientset.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading Deployment %s in namespace %s: %w", name, namespace, err)
	}
	for _, ctr := range d.Spec.Template.Spec.Containers {
		for _, e := range ctr.Env {
			if e.Name == variable {
				return e.Value, true, nil
			}
		}
	}
	return "", false, nil
}
