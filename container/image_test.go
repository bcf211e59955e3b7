package container

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/canaryjudge/judge/internal/testenv"
	"github.com/canaryjudge/judge/version"
)

var testBuild = version.Info{Version: "v9.8.7", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-04T10:00:00Z"}

// files reads the image's single layer: name → header and content.
func files(t *testing.T, img v1.Image) map[string]struct {
	h    *tar.Header
	body []byte
} {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v (want 1)", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]struct {
		h    *tar.Header
		body []byte
	}{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		out[strings.TrimSuffix(h.Name, "/")] = struct {
			h    *tar.Header
			body []byte
		}{h, body}
	}
}

// checkConfig checks what Kubernetes and an operator rely on: a numeric
// non-root user, the entrypoint, the port, the data volume, the health
// check and the version labels.
func checkConfig(t *testing.T, img v1.Image, b version.Info) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root, numeric)", c.User)
	}
	if strings.Join(c.Entrypoint, " ") != Binary {
		t.Errorf("entrypoint %q", c.Entrypoint)
	}
	if strings.Join(c.Cmd, " ") != "serve --addr 0.0.0.0:8080 --data-dir /data" {
		t.Errorf("cmd %q", c.Cmd)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v, want 8080/tcp", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes %v, want /data", c.Volumes)
	}
	if c.Healthcheck == nil || strings.Join(c.Healthcheck.Test, " ") != "CMD "+Binary+" healthcheck" {
		t.Errorf("health check %+v", c.Healthcheck)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version": b.Version, "org.opencontainers.image.revision": b.Commit,
		"org.opencontainers.image.created": b.Date, "org.opencontainers.image.source": Source, "org.opencontainers.image.title": "judge",
	} {
		if got := c.Labels[k]; got != want || want == "" {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if cf.OS != "linux" || cf.Created.Format(time.RFC3339) != b.Date {
		t.Errorf("os %q, created %v", cf.OS, cf.Created)
	}
	m, err := img.Manifest()
	if err != nil || m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %v, %v: want OCI", m.MediaType, err)
	}
}

// TestBuild builds an image around a stand-in binary: its configuration,
// its files (owners, modes, the user in /etc/passwd) and a digest that
// does not change from one build to the next, nor through the archive.
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	bin, plugin, certs := filepath.Join(dir, "judge"), filepath.Join(dir, "judge-argo-plugin"), filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(bin, []byte("#!stand-in judge binary\n"), 0o755); err != nil { //nolint:gosec // an executable stand-in
		t.Fatal(err)
	}
	if err := os.WriteFile(plugin, []byte("#!stand-in plugin\n"), 0o755); err != nil { //nolint:gosec // an executable stand-in
		t.Fatal(err)
	}
	if err := os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Binary: bin, ArgoPlugin: plugin, CACerts: certs, Arch: "amd64", Build: testBuild}
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, img, testBuild)
	fs := files(t, img)
	if f := fs["usr/local/bin/judge"]; string(f.body) != "#!stand-in judge binary\n" || f.h.Mode != 0o755 || f.h.Uid != 0 {
		t.Errorf("binary: %+v", f.h)
	}
	if f := fs["usr/local/bin/judge-argo-plugin"]; string(f.body) != "#!stand-in plugin\n" || f.h.Mode != 0o755 || f.h.Uid != 0 {
		t.Errorf("Argo Rollouts plugin: %+v", f.h)
	}
	if f := fs["data"]; f.h == nil || f.h.Typeflag != tar.TypeDir || f.h.Uid != UID || f.h.Gid != GID {
		t.Errorf("/data must be a directory owned by %d: %+v", UID, f.h)
	}
	if f := fs["etc/passwd"]; !strings.Contains(string(f.body), fmt.Sprintf("judge:x:%d:%d:", UID, GID)) {
		t.Errorf("/etc/passwd: %q", f.body)
	}
	if f := fs["etc/ssl/certs/ca-certificates.crt"]; !bytes.HasPrefix(f.body, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Errorf("CA bundle: %q", f.body)
	}
	if f := fs["tmp"]; f.h == nil || f.h.Mode != 0o1777 {
		t.Errorf("/tmp: %+v", f.h)
	}
	for name, f := range fs {
		if !f.h.ModTime.Equal(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: modified %v, want the commit's date", name, f.h.ModTime)
		}
	}

	again, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same binary: %s and %s", d1, d2)
	}
	archive := filepath.Join(dir, "image.tar")
	if err := WriteArchive(img, "judge:v9.8.7", archive); err != nil {
		t.Fatal(err)
	}
	read, ref, err := ReadArchive(archive, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := read.Digest(); d3 != d1 || ref != "judge:v9.8.7" {
		t.Errorf("archive round trip: %s %q, want %s judge:v9.8.7", d3, ref, d1)
	}

	for _, bad := range []Spec{
		{Binary: filepath.Join(dir, "missing"), ArgoPlugin: plugin, CACerts: certs, Build: testBuild},
		{Binary: bin, ArgoPlugin: plugin, CACerts: filepath.Join(dir, "missing"), Build: testBuild},
		{Binary: bin, ArgoPlugin: filepath.Join(dir, "missing"), CACerts: certs, Build: testBuild},
		{Binary: bin, ArgoPlugin: plugin, CACerts: certs, Build: version.Info{Version: "v1", Date: "yesterday"}},
	} {
		if _, err := Build(bad); err == nil {
			t.Errorf("%+v: built", bad)
		}
	}
}

// TestArchiveRefusesEscapes: an archive entry that leaves the directory it
// is unpacked into is an error, not a file written elsewhere.
func TestArchiveRefusesEscapes(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "evil.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "../escape", Size: 1, Mode: 0o644})
	_, _ = tw.Write([]byte("x"))
	_ = tw.Close()
	if err := os.WriteFile(archive, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadArchive(archive, filepath.Join(dir, "out")); err == nil || !strings.Contains(err.Error(), "leaves") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
		t.Fatal("the entry was written outside")
	}
}

// TestMadeImage checks the image make image wrote (JUDGE_IMAGE, or
// bin/judge-image.tar; make test builds it first): its configuration, and
// its judge binary run from the image's files — judge version reports the
// image's labels, judge serve answers /healthz and judges one analysis,
// and judge healthcheck (the image's HEALTHCHECK) passes; then podman
// loads and inspects the image, and runs it where the machine allows.
func TestMadeImage(t *testing.T) {
	testenv.NeedsExternal(t, "the image make image builds, and Podman")
	archive := os.Getenv("JUDGE_IMAGE")
	if archive == "" {
		archive = filepath.Join("..", "bin", "judge-image.tar")
	}
	if _, err := os.Stat(archive); err != nil {
		t.Fatalf("%s: %v (run make image, which make test runs first)", archive, err)
	}
	img, ref, err := ReadArchive(archive, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	labels := cf.Config.Labels
	b := version.Info{Version: labels["org.opencontainers.image.version"], Commit: labels["org.opencontainers.image.revision"], Date: labels["org.opencontainers.image.created"]}
	checkConfig(t, img, b)
	if ref != "judge:"+b.Version {
		t.Errorf("ref name %q, want judge:%s", ref, b.Version)
	}

	dir := t.TempDir()
	judge := filepath.Join(dir, "judge")
	if err := os.WriteFile(judge, files(t, img)["usr/local/bin/judge"].body, 0o755); err != nil { //nolint:gosec // the image's binary
		t.Fatal(err)
	}
	// The Argo Rollouts plugin the image carries: a static executable the
	// image's judge installs into a directory, as an init container would.
	plugin := files(t, img)["usr/local/bin/judge-argo-plugin"]
	if plugin.h == nil || plugin.h.Mode != 0o755 || !bytes.HasPrefix(plugin.body, []byte("\x7fELF")) {
		t.Fatalf("the image carries no executable Argo Rollouts plugin at %s", ArgoPlugin)
	}
	extracted := filepath.Join(dir, "plugin")
	if err := os.WriteFile(extracted, plugin.body, 0o600); err != nil {
		t.Fatal(err)
	}
	pluginDir := filepath.Join(dir, "plugins")
	if err := os.Mkdir(pluginDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(judge, "argo-plugin", "install", "--from", extracted, pluginDir).CombinedOutput(); err != nil { //nolint:gosec // the image's binary
		t.Fatalf("judge argo-plugin install: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(pluginDir, "judge-argo-plugin")).CombinedOutput() //nolint:gosec // the image's plugin
	if !strings.Contains(string(out), "plugin") {
		t.Errorf("the installed plugin run alone (%v): %q, want go-plugin's notice that it is a plugin", err, out)
	}
	out, err = exec.Command(judge, "version", "--output", "json").Output()
	if err != nil {
		t.Fatalf("judge version: %v", err)
	}
	var got version.Info
	if err := json.Unmarshal(out, &got); err != nil || got.Version != b.Version || got.Commit != b.Commit || got.Date != b.Date || got.GoVersion == "" {
		t.Fatalf("judge version says %s (%v), the labels %+v", out, err, b)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	srv := exec.Command(judge, "serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data")) //nolint:gosec // the image's binary
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz") //nolint:noctx // a test's poll
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	body := `{"spec":{"canary_config":{"name":"image","metrics":[{"name":"latency","groups":["g"],"direction":"increase"}]},
		"metrics":[{"name":"latency","control":[10,11,10,12,11,10,11,12,10,11,10,12,11,10,11,12,10,11,10,12],
		"experiment":[30,31,30,32,31,30,31,32,30,31,30,32,31,30,31,32,30,31,30,32]}]}}`
	resp, err := http.Post(url+"/v1/analyze", "application/json", strings.NewReader(body)) //nolint:noctx // a test's request
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var verdict struct {
		Verdict struct {
			Result string `json:"result"`
		} `json:"verdict"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&verdict); err != nil || resp.StatusCode != 200 || verdict.Verdict.Result != "FAIL" {
		t.Fatalf("analysis of a tripled latency: %d %+v %v, want FAIL", resp.StatusCode, verdict, err)
	}
	if out, err := exec.Command(judge, "healthcheck", "--url", url+"/healthz").CombinedOutput(); err != nil { //nolint:gosec // the image's binary
		t.Errorf("judge healthcheck: %v %s", err, out)
	}
	if out, err := exec.Command(judge, "healthcheck", "--url", "http://127.0.0.1:1/healthz").CombinedOutput(); err == nil { //nolint:gosec // the image's binary
		t.Errorf("judge healthcheck of nothing passed: %s", out)
	}

	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("podman: %v (make test installs it: scripts/ensure-podman.sh)", err)
	}
	runInPodman(t, archive, ref)
}

// runInPodman loads the archive into podman, checks the image podman
// sees, and runs it, checking /healthz from inside (the image's own health
// check). A machine whose sandbox forbids containers their resource limits
// (crun: "OCI permission denied") can load but not run images: the run is
// then reported, not failed; any other failure fails.
func runInPodman(t *testing.T, archive, ref string) {
	t.Helper()
	if out, err := exec.Command("podman", "load", "-i", archive).CombinedOutput(); err != nil {
		t.Fatalf("podman load: %v %s", err, out)
	}
	out, err := exec.Command("podman", "image", "inspect", "--format", "{{.Config.User}} {{index .Config.Entrypoint 0}}", "localhost/"+ref).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "65532:65532 "+Binary {
		t.Fatalf("podman image inspect: %v %q", err, out)
	}
	name := fmt.Sprintf("judge-image-test-%d", os.Getpid())
	out, err = exec.Command("podman", "run", "-d", "--name", name, "--network", "host", "localhost/"+ref,
		"serve", "--addr", "127.0.0.1:18089", "--data-dir", "/data").CombinedOutput()
	t.Cleanup(func() { _ = exec.Command("podman", "rm", "-f", name).Run() })
	if err != nil && strings.Contains(string(out), "OCI permission denied") {
		t.Logf("podman loaded the image but this machine does not let it run containers: %s", bytes.TrimSpace(out))
		return
	}
	if err != nil {
		t.Fatalf("podman run: %v %s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command("podman", "exec", name, Binary, "healthcheck", "--url", "http://127.0.0.1:18089/healthz").CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck in the container: %v %s", err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
