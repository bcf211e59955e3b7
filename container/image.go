// Package container builds judge's container image offline, with no base
// image pulled from a registry: one layer holding the static judge binary,
// its Argo Rollouts metric provider plugin, CA certificates, a non-root user and a /data directory for SQLite, on an
// empty base. Every timestamp is the commit's date, so the same binary gives
// the same image digest (reproducible builds).
package container

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/canaryjudge/judge/version"
)

// The image's layout: where judge is, who runs it and what it serves.
const (
	// UID and GID run judge: not root (Kubernetes' runAsNonRoot checks the
	// numeric user).
	UID = 65532
	GID = 65532
	// Binary is judge's path in the image.
	Binary = "/usr/local/bin/judge"
	// ArgoPlugin is judge's Argo Rollouts metric provider plugin in the
	// image: an init container copies it for the controller (judge
	// argo-plugin install), so installing it needs no download.
	ArgoPlugin = "/usr/local/bin/judge-argo-plugin"
	// DataDir holds the SQLite database: mount a volume there.
	DataDir = "/data"
	// Port serves HTTP/JSON, gRPC, /metrics, /healthz and /readyz.
	Port = 8080
	// CACerts is where the CA bundle is, for TLS to metric stores.
	CACerts = "/etc/ssl/certs/ca-certificates.crt"
	// Source is the project's repository, for the image's labels.
	Source = "https://github.com/canaryjudge/judge"
)

// Spec says what goes into an image.
type Spec struct {
	// Binary is the path of a static judge binary (CGO_ENABLED=0) for
	// Arch, ArgoPlugin of the static Argo Rollouts plugin (make
	// argo-plugin); CACerts the path of a PEM CA bundle.
	Binary, ArgoPlugin, CACerts string
	// Arch is the binary's GOARCH (default: this machine's).
	Arch string
	// Build labels the image; its Date (RFC 3339) is the image's creation
	// time and every file's modification time.
	Build version.Info
}

// Build assembles the image.
func Build(s Spec) (v1.Image, error) {
	created, err := time.Parse(time.RFC3339, s.Build.Date)
	if err != nil {
		return nil, fmt.Errorf("build date %q: want RFC 3339 (the commit's date): %w", s.Build.Date, err)
	}
	created = created.UTC()
	layer, err := rootLayer(s, created)
	if err != nil {
		return nil, err
	}
	arch := s.Arch
	if arch == "" {
		arch = runtime.GOARCH
	}
	cfg := &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			User:       fmt.Sprintf("%d:%d", UID, GID),
			Entrypoint: []string{Binary},
			Cmd:        []string{"serve", "--addr", fmt.Sprintf("0.0.0.0:%d", Port), "--data-dir", DataDir},
			Env:        []string{"SSL_CERT_FILE=" + CACerts, "TMPDIR=/tmp"},
			WorkingDir: DataDir,
			ExposedPorts: map[string]struct{}{
				fmt.Sprintf("%d/tcp", Port): {},
			},
			Volumes: map[string]struct{}{DataDir: {}},
			Labels:  Labels(s.Build),
			Healthcheck: &v1.HealthConfig{
				Test:     []string{"CMD", Binary, "healthcheck"},
				Interval: 10 * time.Second,
				Timeout:  3 * time.Second,
				Retries:  3,
			},
		},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "judge make image", Comment: "judge, its Argo Rollouts plugin, CA certificates, user judge, /data"},
	})
}

// Labels are the OCI annotations of a build.
func Labels(b version.Info) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "judge",
		"org.opencontainers.image.description": "Automated canary analysis: PASS, MARGINAL or FAIL from baseline and canary metrics",
		"org.opencontainers.image.version":     b.Version,
		"org.opencontainers.image.revision":    b.Commit,
		"org.opencontainers.image.created":     b.Date,
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
}

// rootLayer is the image's only layer, as an uncompressed tar with fixed
// owners and times, compressed by go-containerregistry.
func rootLayer(s Spec, at time.Time) (v1.Layer, error) {
	binary, err := os.ReadFile(s.Binary)
	if err != nil {
		return nil, fmt.Errorf("judge binary: %w", err)
	}
	certs, err := os.ReadFile(s.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	plugin, err := os.ReadFile(s.ArgoPlugin)
	if err != nil {
		return nil, fmt.Errorf("the argo rollouts plugin: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: at, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: at, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\njudge:x:%d:%d:judge:%s:/sbin/nologin\n", UID, GID, DataDir)
	group := fmt.Sprintf("root:x:0:\njudge:x:%d:\n", GID)
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error { return file(CACerts[1:], 0o644, certs) },
		func() error { return dir(DataDir[1:], 0o755, UID) },
		func() error { return dir("tmp", 0o1777, 0) },
		func() error { return dir("usr", 0o755, 0) },
		func() error { return dir("usr/local", 0o755, 0) },
		func() error { return dir(path.Dir(Binary)[1:], 0o755, 0) },
		func() error { return file(Binary[1:], 0o755, binary) },
		func() error { return file(ArgoPlugin[1:], 0o755, plugin) },
		tw.Close,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}
