package docker

import (
	"context"

	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// CreateVolume creates a named volume. The engine answers a create of an
// existing name with that volume, which is the idempotence Berth wants
// after a restart.
func (r *Runtime) CreateVolume(ctx context.Context, spec runtime.VolumeSpec) (runtime.Volume, error) {
	if spec.Name == "" {
		return runtime.Volume{}, invalid("volume name is empty")
	}
	res, err := r.cli.VolumeCreate(ctx, client.VolumeCreateOptions{
		Name:       spec.Name,
		Driver:     spec.Driver,
		DriverOpts: spec.DriverOpts,
		Labels:     managedLabels(spec.Labels, nil),
	})
	if err != nil {
		return runtime.Volume{}, wrap(err, "create volume "+spec.Name)
	}
	return volumeOf(res.Volume), nil
}

// ListVolumes returns Berth's volumes with all the labels.
func (r *Runtime) ListVolumes(ctx context.Context, labels map[string]string) ([]runtime.Volume, error) {
	res, err := r.cli.VolumeList(ctx, client.VolumeListOptions{Filters: labelFilters("", labels)})
	if err != nil {
		return nil, wrap(err, "list volumes")
	}
	out := make([]runtime.Volume, 0, len(res.Items))
	for _, v := range res.Items {
		out = append(out, volumeOf(v))
	}
	return out, nil
}

// RemoveVolume removes a volume; one in use is ErrConflict.
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error {
	_, err := r.cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{})
	if err = wrap(err, "remove volume "+name); runtime.IsNotFound(err) {
		return nil
	}
	return err
}

func volumeOf(v volume.Volume) runtime.Volume {
	return runtime.Volume{Name: v.Name, Driver: v.Driver, Labels: userLabels(v.Labels), CreatedAt: parseTime(v.CreatedAt)}
}
