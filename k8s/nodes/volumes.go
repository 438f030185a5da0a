package nodes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/berth-dev/berth/runtime"
)

// podVolumes makes the pod's volumes before its containers start and returns
// how each one is mounted: emptyDir as a runtime volume shared by the pod's
// containers (tmpfs for medium Memory), ConfigMap and Secret volumes as files
// written under the node's volume dir and bind-mounted, projected volumes
// likewise (projected.go). refresh is when the projected service-account
// tokens must be renewed (zero without any). Kinds Berth's nodes do not
// provide yet (hostPath, PVCs) are left out rather than failing the pod.
func (p *provider) podVolumes(ctx context.Context, pod *corev1.Pod, labels map[string]string) (_ map[string]runtime.Mount, refresh time.Time, _ error) {
	out := map[string]runtime.Mount{}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.Projected != nil:
			files, at, err := p.projectedFiles(ctx, pod, v.Projected)
			if err != nil {
				return nil, refresh, fmt.Errorf("volume %s: %w", v.Name, err)
			}
			dir, err := p.writeVolume(pod, v.Name, files, v.Projected.DefaultMode)
			if err != nil {
				return nil, refresh, err
			}
			if !at.IsZero() && (refresh.IsZero() || at.Before(refresh)) {
				refresh = at
			}
			out[v.Name] = runtime.Mount{Type: runtime.MountBind, Source: dir, ReadOnly: true}
		case v.EmptyDir != nil:
			if v.EmptyDir.Medium == corev1.StorageMediumMemory {
				m := runtime.Mount{Type: runtime.MountTmpfs}
				if v.EmptyDir.SizeLimit != nil {
					m.TmpfsSizeBytes = v.EmptyDir.SizeLimit.Value()
				}
				out[v.Name] = m
				continue
			}
			vl := map[string]string{}
			for k, val := range labels {
				vl[k] = val
			}
			vol, err := p.cfg.Runtime.CreateVolume(ctx, runtime.VolumeSpec{Name: p.objectName(pod, "vol-"+v.Name), Labels: vl})
			if err != nil {
				return nil, refresh, fmt.Errorf("volume %s: %w", v.Name, err)
			}
			out[v.Name] = runtime.Mount{Type: runtime.MountVolume, Source: vol.Name}
		case v.ConfigMap != nil:
			files, err := p.configMapFiles(pod.Namespace, v.ConfigMap)
			if err != nil {
				return nil, refresh, fmt.Errorf("volume %s: %w", v.Name, err)
			}
			dir, err := p.writeVolume(pod, v.Name, files, v.ConfigMap.DefaultMode)
			if err != nil {
				return nil, refresh, err
			}
			out[v.Name] = runtime.Mount{Type: runtime.MountBind, Source: dir, ReadOnly: true}
		case v.Secret != nil:
			files, err := p.secretFiles(pod.Namespace, v.Secret)
			if err != nil {
				return nil, refresh, fmt.Errorf("volume %s: %w", v.Name, err)
			}
			dir, err := p.writeVolume(pod, v.Name, files, v.Secret.DefaultMode)
			if err != nil {
				return nil, refresh, err
			}
			out[v.Name] = runtime.Mount{Type: runtime.MountBind, Source: dir, ReadOnly: true}
		}
	}
	return out, refresh, nil
}

// containerMounts places the pod's volumes at the container's volumeMounts.
func containerMounts(vols map[string]runtime.Mount, c corev1.Container) ([]runtime.Mount, error) {
	var out []runtime.Mount
	for _, vm := range c.VolumeMounts {
		m, ok := vols[vm.Name]
		if !ok {
			continue
		}
		m.Target = vm.MountPath
		m.ReadOnly = m.ReadOnly || vm.ReadOnly
		if vm.SubPath != "" {
			if m.Type != runtime.MountBind || !filepath.IsLocal(vm.SubPath) {
				return nil, fmt.Errorf("volumeMount %s: subPath %q is not supported on this volume", vm.Name, vm.SubPath)
			}
			m.Source = filepath.Join(m.Source, vm.SubPath)
		}
		out = append(out, m)
	}
	return out, nil
}

func (p *provider) configMapFiles(namespace string, src *corev1.ConfigMapVolumeSource) (map[string][]byte, error) {
	cm, err := p.configMaps.ConfigMaps(namespace).Get(src.Name)
	if err != nil {
		if apierrors.IsNotFound(err) && src.Optional != nil && *src.Optional {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("configmap %s/%s: %w", namespace, src.Name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return project(data, src.Items)
}

func (p *provider) secretFiles(namespace string, src *corev1.SecretVolumeSource) (map[string][]byte, error) {
	s, err := p.secrets.Secrets(namespace).Get(src.SecretName)
	if err != nil {
		if apierrors.IsNotFound(err) && src.Optional != nil && *src.Optional {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("secret %s/%s: %w", namespace, src.SecretName, err)
	}
	return project(s.Data, src.Items)
}

// project applies a volume's items (key → relative path) to the data; with
// no items every key becomes a file of its own name.
func project(data map[string][]byte, items []corev1.KeyToPath) (map[string][]byte, error) {
	if len(items) == 0 {
		return data, nil
	}
	out := map[string][]byte{}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("key %q not found", it.Key)
		}
		out[it.Path] = v
	}
	return out, nil
}

// writeVolume writes the files of one ConfigMap, Secret or projected volume under
// VolumeDir/<pod UID>/<volume>; DeletePod removes the pod's directory.
func (p *provider) writeVolume(pod *corev1.Pod, name string, files map[string][]byte, mode *int32) (string, error) {
	// Only the node (and the containers, through their bind mounts) may read
	// Secrets: the base directory is closed to other host users.
	if err := os.MkdirAll(p.cfg.VolumeDir, 0o700); err != nil {
		return "", err
	}
	dir := filepath.Join(p.cfg.VolumeDir, string(pod.UID), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	perm := os.FileMode(0o644)
	if mode != nil {
		perm = os.FileMode(*mode) & 0o777
	}
	for rel, data := range files {
		if !filepath.IsLocal(rel) || strings.Contains(rel, "..") {
			return "", fmt.Errorf("volume %s: path %q leaves the volume", name, rel)
		}
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		// Written aside and renamed into place: a container reading a
		// refreshed token never sees half of it.
		tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
		if err := os.WriteFile(tmp, data, perm); err != nil {
			return "", err
		}
		if err := os.Chmod(tmp, perm); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, path); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// removeVolumes deletes the pod's emptyDir volumes and written files.
func (p *provider) removeVolumes(ctx context.Context, pod *corev1.Pod, sel map[string]string) error {
	vols, err := p.cfg.Runtime.ListVolumes(ctx, sel)
	if err != nil {
		return err
	}
	for _, v := range vols {
		if err := p.cfg.Runtime.RemoveVolume(ctx, v.Name); err != nil {
			return err
		}
	}
	if pod.UID == "" {
		return nil
	}
	return os.RemoveAll(filepath.Join(p.cfg.VolumeDir, string(pod.UID)))
}
