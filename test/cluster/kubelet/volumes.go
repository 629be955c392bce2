package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prepareVolumes gives every volume of the pod a folder on the host, which containers get
// bind-mounted at their mountPaths. It may be called again: files are rewritten in place.
// It returns each volume's folder, and when the earliest projected service account token
// should be refreshed.
func (p *podRuntime) prepareVolumes(ctx context.Context) (paths map[string]string, refresh time.Time, err error) {
	paths = map[string]string{}
	for _, v := range p.pod.Spec.Volumes {
		dir, next, err := p.prepareVolume(ctx, v)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		paths[v.Name] = dir
		if !next.IsZero() && (refresh.IsZero() || next.Before(refresh)) {
			refresh = next
		}
	}
	return paths, refresh, nil
}

func (p *podRuntime) prepareVolume(ctx context.Context, v corev1.Volume) (string, time.Time, error) {
	dir := filepath.Join(p.dir, "volumes", v.Name)
	switch {
	case v.EmptyDir != nil:
		// TODO(berth): medium Memory and sizeLimit are not honoured: it is a plain folder.
		return dir, time.Time{}, os.MkdirAll(dir, 0o777)
	case v.HostPath != nil:
		return v.HostPath.Path, time.Time{}, prepareHostPath(v.HostPath)
	case v.Secret != nil:
		files, err := p.secretFiles(ctx, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional)
		if err != nil {
			return "", time.Time{}, err
		}
		return dir, time.Time{}, writeFiles(dir, files, v.Secret.DefaultMode)
	case v.ConfigMap != nil:
		files, err := p.configMapFiles(ctx, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional)
		if err != nil {
			return "", time.Time{}, err
		}
		return dir, time.Time{}, writeFiles(dir, files, v.ConfigMap.DefaultMode)
	case v.DownwardAPI != nil:
		files, err := p.downwardAPIFiles(v.DownwardAPI.Items)
		if err != nil {
			return "", time.Time{}, err
		}
		return dir, time.Time{}, writeFiles(dir, files, v.DownwardAPI.DefaultMode)
	case v.Projected != nil:
		files, refresh, err := p.projectedFiles(ctx, v.Projected)
		if err != nil {
			return "", time.Time{}, err
		}
		return dir, refresh, writeFiles(dir, files, v.Projected.DefaultMode)
	}
	// TODO(berth): persistentVolumeClaim, csi, ephemeral and image volumes are not supported;
	// the pod stays in ContainerCreating with this message.
	return "", time.Time{}, errors.New("this volume type is not supported by the process kubelet")
}

func prepareHostPath(hp *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	switch t {
	case corev1.HostPathDirectoryOrCreate:
		return os.MkdirAll(hp.Path, 0o755)
	case corev1.HostPathFileOrCreate:
		if err := os.MkdirAll(filepath.Dir(hp.Path), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(hp.Path, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		return f.Close()
	case corev1.HostPathUnset:
		// The kubelet mounts whatever is there; a missing path fails the mount, so make it.
		if _, err := os.Stat(hp.Path); errors.Is(err, os.ErrNotExist) {
			return os.MkdirAll(hp.Path, 0o755)
		}
		return nil
	}
	_, err := os.Stat(hp.Path)
	return err
}

// volumeFile is one file of a secret, configMap, downwardAPI or projected volume.
type volumeFile struct {
	path string
	data []byte
	mode *int32
}

func (p *podRuntime) secretFiles(ctx context.Context, name string, items []corev1.KeyToPath, optional *bool) ([]volumeFile, error) {
	s, err := p.host.client.CoreV1().Secrets(p.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && isTrue(optional) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return keyFiles("secret "+name, s.Data, items, optional)
}

func (p *podRuntime) configMapFiles(ctx context.Context, name string, items []corev1.KeyToPath, optional *bool) ([]volumeFile, error) {
	cm, err := p.host.client.CoreV1().ConfigMaps(p.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && isTrue(optional) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("configMap %s: %w", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyFiles("configMap "+name, data, items, optional)
}

// keyFiles writes every key as a file of its name, or only the listed items at their paths.
func keyFiles(what string, data map[string][]byte, items []corev1.KeyToPath, optional *bool) ([]volumeFile, error) {
	var files []volumeFile
	if len(items) == 0 {
		for k, v := range data {
			files = append(files, volumeFile{path: k, data: v})
		}
		return files, nil
	}
	for _, item := range items {
		v, ok := data[item.Key]
		if !ok {
			if isTrue(optional) {
				continue
			}
			return nil, fmt.Errorf("%s has no key %s", what, item.Key)
		}
		files = append(files, volumeFile{path: item.Path, data: v, mode: item.Mode})
	}
	return files, nil
}

func (p *podRuntime) downwardAPIFiles(items []corev1.DownwardAPIVolumeFile) ([]volumeFile, error) {
	var files []volumeFile
	for _, item := range items {
		var value string
		var err error
		switch {
		case item.FieldRef != nil:
			value, err = p.fieldRef(item.FieldRef.FieldPath)
		case item.ResourceFieldRef != nil:
			value, err = p.resourceFieldRef(nil, item.ResourceFieldRef)
		}
		if err != nil {
			return nil, err
		}
		files = append(files, volumeFile{path: item.Path, data: []byte(value), mode: item.Mode})
	}
	// TODO(berth): labels and annotations are written once, not updated when they change.
	return files, nil
}

// projectedFiles gathers a projected volume's sources: the kube-api-access-* volume every pod
// gets is one (a service account token, the kube-root-ca.crt configMap, the namespace).
func (p *podRuntime) projectedFiles(ctx context.Context, v *corev1.ProjectedVolumeSource) ([]volumeFile, time.Time, error) {
	var files []volumeFile
	var refresh time.Time
	for _, src := range v.Sources {
		var more []volumeFile
		var err error
		switch {
		case src.Secret != nil:
			more, err = p.secretFiles(ctx, src.Secret.Name, src.Secret.Items, src.Secret.Optional)
		case src.ConfigMap != nil:
			more, err = p.configMapFiles(ctx, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional)
		case src.DownwardAPI != nil:
			more, err = p.downwardAPIFiles(src.DownwardAPI.Items)
		case src.ServiceAccountToken != nil:
			var token volumeFile
			var next time.Time
			token, next, err = p.serviceAccountToken(ctx, src.ServiceAccountToken)
			more = []volumeFile{token}
			if refresh.IsZero() || next.Before(refresh) {
				refresh = next
			}
		default:
			// TODO(berth): clusterTrustBundle and podCertificate sources are not supported.
			err = errors.New("this projected source is not supported by the process kubelet")
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		files = append(files, more...)
	}
	return files, refresh, nil
}

// serviceAccountToken asks the TokenRequest API for a token of the pod's service account,
// bound to the pod, and says when to refresh it: at 80% of its life, as the kubelet does.
func (p *podRuntime) serviceAccountToken(ctx context.Context, src *corev1.ServiceAccountTokenProjection) (volumeFile, time.Time, error) {
	expiry := int64(3600)
	if src.ExpirationSeconds != nil {
		expiry = *src.ExpirationSeconds
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &expiry,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.pod.Name, UID: p.pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	sa := p.pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr, err := p.host.client.CoreV1().ServiceAccounts(p.pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return volumeFile{}, time.Time{}, fmt.Errorf("requesting a token for service account %s: %w", sa, err)
	}
	life := time.Until(tr.Status.ExpirationTimestamp.Time)
	return volumeFile{path: src.Path, data: []byte(tr.Status.Token)}, time.Now().Add(life * 8 / 10), nil
}

// writeFiles writes each file by renaming a temporary one into place, so a container never
// reads half a token; files are world-readable by default (0644), as the kubelet writes them.
func writeFiles(dir string, files []volumeFile, defaultMode *int32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		mode := int32(0o644)
		if defaultMode != nil {
			mode = *defaultMode
		}
		if f.mode != nil {
			mode = *f.mode
		}
		clean := filepath.Clean(f.path)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("file path %q leaves the volume", f.path)
		}
		path := filepath.Join(dir, clean)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, f.data, os.FileMode(mode)&os.ModePerm); err != nil {
			return err
		}
		if err := os.Chmod(tmp, os.FileMode(mode)&os.ModePerm); err != nil { // WriteFile's mode is masked by umask
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	// TODO(berth): secrets and configMaps are written when the pod starts, not updated when
	// they change, and keys removed since are not removed.
	return nil
}

// mountsFor lists the bind mounts of one container: each volumeMount's volume folder (or its
// subPath) at the mountPath.
func (p *podRuntime) mountsFor(c *corev1.Container, env []string) ([]bindMount, error) {
	var mounts []bindMount
	for _, vm := range c.VolumeMounts {
		src, ok := p.volumePaths[vm.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %s: the pod has no such volume", vm.Name)
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = expand(vm.SubPathExpr, envLookup(env))
		}
		if sub != "" {
			clean := filepath.Clean(sub)
			if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
				return nil, fmt.Errorf("volumeMount %s: subPath %q leaves the volume", vm.Name, sub)
			}
			src = filepath.Join(src, clean)
			// The kubelet creates a missing subPath as a folder.
			if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(src, 0o777); err != nil {
					return nil, err
				}
			}
		}
		// TODO(berth): mountPropagation is ignored: every mount is private to its container.
		mounts = append(mounts, bindMount{Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	return mounts, nil
}
