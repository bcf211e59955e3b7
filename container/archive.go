package container

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// RefName is the annotation that names an image in an OCI layout (what
// podman load and skopeo read as its tag).
const RefName = "org.opencontainers.image.ref.name"

// WriteArchive writes img as an OCI archive (a tar of an OCI image
// layout: podman load -i, skopeo copy oci-archive:), named ref, with fixed
// times so that the same image gives the same archive.
func WriteArchive(img v1.Image, ref, out string) error {
	dir, err := os.MkdirTemp("", "judge-image-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{RefName: ref})); err != nil {
		return err
	}
	f, err := os.Create(out) //nolint:gosec // the caller's output path
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil || name == dir {
			return err
		}
		rel, err := filepath.Rel(dir, name)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: time.Unix(0, 0).UTC(), Format: tar.FormatPAX}
		if d.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			return tw.WriteHeader(h)
		}
		body, err := os.ReadFile(name) //nolint:gosec // inside our temporary directory
		if err != nil {
			return err
		}
		h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err = tw.Write(body)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	return errors.Join(err, f.Close())
}

// ReadArchive reads the image of an OCI archive written by WriteArchive,
// and its ref name. dir receives the unpacked layout (the image reads its
// blobs from there).
func ReadArchive(archive, dir string) (v1.Image, string, error) {
	f, err := os.Open(archive) //nolint:gosec // the caller's archive
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", archive, err)
		}
		name, err := securePath(dir, h.Name)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", archive, err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(name, 0o750); err != nil {
				return nil, "", err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
				return nil, "", err
			}
			out, err := os.Create(name) //nolint:gosec // checked by securePath
			if err != nil {
				return nil, "", err
			}
			_, err = io.Copy(out, tr) //nolint:gosec // our own archive, bounded by its size
			if err := errors.Join(err, out.Close()); err != nil {
				return nil, "", err
			}
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, "", fmt.Errorf("%s: not an OCI layout: %w", archive, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, "", err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, "", err
	}
	if len(m.Manifests) != 1 {
		return nil, "", fmt.Errorf("%s: %d images, want 1", archive, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	return img, m.Manifests[0].Annotations[RefName], err
}

// securePath joins an archive entry's name to dir, refusing names that
// leave it.
func securePath(dir, name string) (string, error) {
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("entry %q leaves the archive's directory", name)
	}
	return filepath.Join(dir, name), nil
}
