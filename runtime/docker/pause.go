package docker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// The pause program (./pause), built for each architecture by
// `go generate` (gen_pause.go). It is embedded rather than pulled because
// Berth must run tasks with no registry but its own, and a 1 MiB static
// binary is all the image holds.
//
//go:embed pause_linux_*.gz
var pauseBinaries embed.FS

// PauseRepository is the repository the pause image is tagged in; its tag
// is derived from the image's content, so a Berth with a different pause
// program loads a new image instead of trusting an old one.
const PauseRepository = "berth/pause"

// pauseImage is the pause image for one architecture in `docker save`
// format, ready for the engine's image load.
type pauseImage struct {
	ref     string // berth/pause:<tag>
	id      string // sha256:<config digest>, the engine's image id
	tarball []byte
}

// buildPauseImage packs the embedded pause binary for arch into an image.
// The result is deterministic (fixed times, no randomness), so the same
// Berth build always produces the same image id.
func buildPauseImage(arch string) (pauseImage, error) {
	gz, err := pauseBinaries.ReadFile("pause_linux_" + arch + ".gz")
	if err != nil {
		return pauseImage{}, fmt.Errorf("%w: no pause image for architecture %q", runtime.ErrUnsupported, arch)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return pauseImage{}, fmt.Errorf("pause binary: %w", err)
	}
	bin, err := io.ReadAll(zr)
	if err != nil {
		return pauseImage{}, fmt.Errorf("pause binary: %w", err)
	}

	epoch := time.Unix(0, 0).UTC()
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	if err := tw.WriteHeader(&tar.Header{Name: "pause", Typeflag: tar.TypeReg, Mode: 0o755,
		Size: int64(len(bin)), ModTime: epoch, Format: tar.FormatUSTAR}); err != nil {
		return pauseImage{}, err
	}
	if _, err := tw.Write(bin); err != nil {
		return pauseImage{}, err
	}
	if err := tw.Close(); err != nil {
		return pauseImage{}, err
	}
	layerSum := sha256.Sum256(layer.Bytes())
	layerHex := hex.EncodeToString(layerSum[:])

	config, err := json.Marshal(map[string]any{
		"architecture": arch,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config": map[string]any{
			"Entrypoint": []string{"/pause"},
			"Labels":     map[string]string{labelManaged: "true"},
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerHex}},
	})
	if err != nil {
		return pauseImage{}, err
	}
	configSum := sha256.Sum256(config)
	configHex := hex.EncodeToString(configSum[:])
	ref := PauseRepository + ":" + configHex[:12]

	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configHex + ".json",
		"RepoTags": []string{ref},
		"Layers":   []string{layerHex + "/layer.tar"},
	}})
	if err != nil {
		return pauseImage{}, err
	}

	var out bytes.Buffer
	ow := tar.NewWriter(&out)
	files := []struct {
		name string
		data []byte
	}{
		{configHex + ".json", config},
		{layerHex + "/layer.tar", layer.Bytes()},
		{"manifest.json", manifest},
	}
	for _, f := range files {
		if err := ow.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644,
			Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatUSTAR}); err != nil {
			return pauseImage{}, err
		}
		if _, err := ow.Write(f.data); err != nil {
			return pauseImage{}, err
		}
	}
	if err := ow.Close(); err != nil {
		return pauseImage{}, err
	}
	return pauseImage{ref: ref, id: "sha256:" + configHex, tarball: out.Bytes()}, nil
}

// ensurePauseImage makes sure the engine has the pause image for its
// architecture and returns its reference. It loads the image at most once
// per process; after that a cached answer costs nothing.
func (r *Runtime) ensurePauseImage(ctx context.Context) (string, error) {
	r.pauseMu.Lock()
	defer r.pauseMu.Unlock()
	if r.pauseRef != "" {
		return r.pauseRef, nil
	}
	info, err := r.engineInfo(ctx)
	if err != nil {
		return "", err
	}
	img, err := buildPauseImage(info.Arch)
	if err != nil {
		return "", err
	}
	if res, err := r.cli.ImageInspect(ctx, img.ref); err == nil && res.ID == img.id {
		r.pauseRef = img.ref
		return img.ref, nil
	}
	if err := loadImage(ctx, r.cli, bytes.NewReader(img.tarball)); err != nil {
		return "", fmt.Errorf("loading the pause image: %w", err)
	}
	r.pauseRef = img.ref
	return img.ref, nil
}

// loadImage feeds a `docker save` tarball to the engine. Like a pull, the
// engine reports failure inside the response stream.
func loadImage(ctx context.Context, cli *client.Client, tarball io.Reader) error {
	resp, err := cli.ImageLoad(ctx, tarball, client.ImageLoadWithQuiet(true))
	if err != nil {
		return wrap(err, "load image")
	}
	defer resp.Close()
	dec := json.NewDecoder(resp)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return wrap(err, "load image")
		}
		if m.Error != nil {
			return fmt.Errorf("docker: load image: %s", m.Error.Message)
		}
	}
}
