// Package helm tests judge's Helm chart (judge/): it renders the chart
// and checks the deployer examples point at the Service it creates. It is
// a module of its own, so that the main module does not take on
// k8s.io/api (the e2e module pins an older one for Argo Rollouts).
package helm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-viper/mapstructure/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/canaryjudge/judge/metrics"
)

const chart = "judge"

// helm is the pinned Helm make tools builds (HELM, or bin/tools/helm).
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		bin = filepath.Join("..", "..", "bin", "tools", "helm-v4.3.2")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm: %v (make test builds it into bin/tools; or set HELM)", err)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...) //nolint:gosec // the pinned helm
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// rendered is one object of helm template's output.
type rendered struct {
	Kind string
	Name string
	JSON []byte
}

func render(t *testing.T, values string) []rendered {
	t.Helper()
	out, err := helm(t, "template", "judge", chart, "--namespace", "judge", "-f", values)
	if err != nil {
		t.Fatal(err)
	}
	var objs []rendered
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(out, -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("%s: rendered YAML: %v\n%s", values, err, doc)
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(j, &head); err != nil || head.Kind == "" {
			t.Fatalf("%s: object without a kind: %v\n%s", values, err, doc)
		}
		objs = append(objs, rendered{head.Kind, head.Metadata.Name, j})
	}
	return objs
}

// strict decodes an object into its Kubernetes type; a field the type
// does not have (a typo in a template) fails.
func strict(t *testing.T, o rendered, into any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(o.JSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s %s does not decode strictly: %v", o.Kind, o.Name, err)
	}
}

// TestChart lints the chart and renders it with each values file in
// judge/ci: every object decodes strictly into its k8s.io/api type,
// and the Deployment keeps the policies an operator's admission control
// checks (non-root, read-only root filesystem, no capabilities, seccomp,
// probes, resources, a versioned image).
func TestChart(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(chart, "ci", "*.yaml"))
	if len(files) < 3 {
		t.Fatalf("values files: %v", files)
	}
	for _, values := range files {
		t.Run(filepath.Base(values), func(t *testing.T) {
			if out, err := helm(t, "lint", "--strict", chart, "-f", values); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			kinds := map[string]int{}
			var dep appsv1.Deployment
			var svc corev1.Service
			for _, o := range render(t, values) {
				kinds[o.Kind]++
				switch o.Kind {
				case "Deployment":
					strict(t, o, &dep)
				case "Service":
					strict(t, o, &svc)
				case "ConfigMap":
					var cm corev1.ConfigMap
					strict(t, o, &cm)
					checkServeConfig(t, cm.Data["judge.yaml"])
				case "ServiceAccount":
					strict(t, o, &corev1.ServiceAccount{})
				case "PersistentVolumeClaim":
					strict(t, o, &corev1.PersistentVolumeClaim{})
				case "PodDisruptionBudget":
					strict(t, o, &policyv1.PodDisruptionBudget{})
				case "NetworkPolicy":
					strict(t, o, &networkingv1.NetworkPolicy{})
				case "ServiceMonitor":
					var sm struct {
						APIVersion string `json:"apiVersion"`
						Spec       struct {
							Endpoints []struct {
								Port string `json:"port"`
								Path string `json:"path"`
							} `json:"endpoints"`
						} `json:"spec"`
					}
					if err := json.Unmarshal(o.JSON, &sm); err != nil || sm.APIVersion != "monitoring.coreos.com/v1" ||
						len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Port != "http" {
						t.Errorf("ServiceMonitor: %+v %v", sm, err)
					}
				default:
					t.Errorf("unexpected %s %s", o.Kind, o.Name)
				}
			}
			if kinds["Deployment"] != 1 || kinds["Service"] != 1 || kinds["ConfigMap"] != 1 {
				t.Fatalf("objects: %v", kinds)
			}
			checkPolicies(t, &dep)
			if svc.Name != "judge" || svc.Spec.Ports[0].Port != 8080 {
				t.Errorf("service %s:%d, want judge:8080 (the examples' judge.judge.svc:8080)", svc.Name, svc.Spec.Ports[0].Port)
			}
			replicas := *dep.Spec.Replicas
			if (kinds["PodDisruptionBudget"] == 1) != (replicas > 1) {
				t.Errorf("%d replicas, %d PodDisruptionBudgets", replicas, kinds["PodDisruptionBudget"])
			}
			args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " ")
			if sqlite := kinds["PersistentVolumeClaim"] == 1; sqlite != !strings.Contains(args, "--database-url-file") || sqlite && replicas != 1 {
				t.Errorf("storage: %d replicas, PVC %v, args %s", replicas, sqlite, args)
			}
		})
	}
}

func checkPolicies(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser == 0 {
		t.Errorf("pod security context: %+v", pod.SecurityContext)
	}
	if pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccomp: %+v", pod.SecurityContext.SeccompProfile)
	}
	// Replicas spread across nodes by default, selected by the chart's own
	// labels.
	if ts := pod.TopologySpreadConstraints; len(ts) != 1 || ts[0].TopologyKey != "kubernetes.io/hostname" || ts[0].LabelSelector == nil ||
		ts[0].LabelSelector.MatchLabels["app.kubernetes.io/name"] != "judge" {
		t.Errorf("topology spread: %+v", ts)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("containers: %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container security context: %+v", sc)
	}
	mutualTLS := strings.Contains(strings.Join(c.Args, " "), "--tls-client-ca")
	switch {
	case c.ReadinessProbe == nil || c.LivenessProbe == nil:
		t.Errorf("probes: readiness %+v, liveness %+v", c.ReadinessProbe, c.LivenessProbe)
	case mutualTLS:
		// The kubelet has no client certificate: a TCP check is all it can do.
		if c.ReadinessProbe.TCPSocket == nil || c.LivenessProbe.TCPSocket == nil {
			t.Errorf("mutual TLS: probes %+v %+v, want TCP", c.ReadinessProbe, c.LivenessProbe)
		}
	case c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
		c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz":
		t.Errorf("probes: readiness %+v, liveness %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources: %+v", c.Resources)
	}
	if strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") && !strings.Contains(c.Image, "@sha256:") {
		t.Errorf("image %q: not a version", c.Image)
	}
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = true
	}
	if !mounts["/tmp"] || !mounts["/data"] {
		t.Errorf("a read-only root needs writable /tmp and /data: %v", mounts)
	}
}

// TestChartRefuses: values that cannot work fail the install with the
// field to change.
func TestChartRefuses(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"storage.type=sqlite", "set replicaCount: 1"},
		{"storage.type=mysql", "/storage/type': value must be one of 'postgres', 'sqlite'"},
		{"storage.postgres.urlSecret.name=", "storage.postgres.urlSecret.name"},
		{"image.tag=latest", "image.tag: latest"},
		{"replicaCount=0", "replicaCount"},
		{"serviceMonitor.enabled=true,auth.protectMetrics=true", "serviceMonitor.tokenSecret.name"},
		// values.schema.json: helm itself refuses unknown keys and wrong
		// types, down to the metrics accounts and each type's settings.
		{"replicas=2", "additional properties 'replicas' not allowed"},
		{"replicaCount=two", "/replicaCount': got string, want integer"},
		{"config.workrs=2", "additional properties 'workrs' not allowed"},
		{"config.workers=many", "/config/workers': got string, want integer"},
		{"config.metrics.accounts[0].name=p,config.metrics.accounts[0].type=prometheus,config.metrics.accounts[0].urll=http://x", "additional properties 'urll' not allowed"},
		{"config.metrics.accounts[0].name=p,config.metrics.accounts[0].type=prometheus,config.metrics.accounts[0].site=x", "additional properties 'site' not allowed"},
		{"config.metrics.accounts[0].name=p,config.metrics.accounts[0].type=promethus", "/config/metrics/accounts/0"},
	} {
		_, err := helm(t, "template", "judge", chart, "--set", tc.set)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--set %s: %v, want an error naming %q", tc.set, err, tc.want)
		}
	}
}

// TestExamplesPointAtTheChart: every deployer example calls the Service
// the chart creates as release judge in namespace judge.
func TestExamplesPointAtTheChart(t *testing.T) {
	files, _ := filepath.Glob("../*/*.yaml")
	found := 0
	for _, f := range files {
		raw, err := os.ReadFile(f) //nolint:gosec // the repository's examples
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`https?://judge[.a-z]*(:\d+)?`).FindAllString(string(raw), -1) {
			found++
			if m != "http://judge.judge.svc:8080" {
				t.Errorf("%s: %s is not the chart's Service (http://judge.judge.svc:8080)", f, m)
			}
		}
	}
	if found < 4 {
		t.Errorf("only %d addresses of judge in the examples", found)
	}
}

// checkServeConfig reads the chart's judge.yaml as judge serve does: every
// key a serve flag or metrics.accounts, the accounts decoded with unknown
// fields refused (cmd/judge's metricsAccounts).
func checkServeConfig(t *testing.T, doc string) {
	t.Helper()
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatalf("judge.yaml: %v", err)
	}
	serveFlags := []string{"workers", "retention", "max-request-bytes", "max-metrics", "max-points", "lease", "max-attempts",
		"flagger-score-max-age", "shutdown-timeout", "metrics"}
	for k := range cfg {
		if !slices.Contains(serveFlags, k) {
			t.Errorf("judge.yaml: %q is not a judge serve setting the chart leaves to values", k)
		}
	}
	m, _ := cfg["metrics"].(map[string]any)
	var accounts []metrics.Account
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{ErrorUnused: true, Result: &accounts})
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(m["accounts"]); err != nil {
		t.Errorf("judge.yaml metrics.accounts: %v", err)
	}
}
