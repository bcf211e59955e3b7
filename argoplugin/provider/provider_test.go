package provider

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func metricWith(cfg string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: "judge", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{Name: json.RawMessage(cfg)}}}
}

// TestConfig checks that a bad plugin object is an Error measurement naming
// what is wrong, before anything is sent.
func TestConfig(t *testing.T) {
	p := &Plugin{Now: time.Now}
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}}
	for cfg, want := range map[string]string{
		`{"config":"c","baseline":"a","canary":"b"}`:                                              "address",
		`{"address":"ftp://x","config":"c","baseline":"a","canary":"b"}`:                          "address",
		`{"address":"http://judge:8080","baseline":"a","canary":"b"}`:                             "config, baseline and canary are required",
		`{"address":"http://judge:8080","config":"c","baseline":"a","canary":"b","window":"-1m"}`: "window",
		`{"address":"http://judge:8080","config":"c","baseline":"a","canary":"b","step":"soon"}`:  "step",
		`{"address":"http://judge:8080","config":"c","baseline":"a","canary":"b","end":"today"}`:  "end",
		`[1]`: "provider.plugin",
	} {
		m := p.Run(run, metricWith(cfg))
		if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, want) {
			t.Errorf("%s: %s %q, want Error naming %q", cfg, m.Phase, m.Message, want)
		}
	}
	if m := p.Run(run, v1alpha1.Metric{Name: "judge"}); m.Phase != v1alpha1.AnalysisPhaseError {
		t.Errorf("no plugin object: %s", m.Phase)
	}
}

// TestSpec checks the analysis a measurement asks for: the window ending
// at end (or now), a step given as a number or a string.
func TestSpec(t *testing.T) {
	end := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	for _, step := range []string{`120`, `"120"`, `"120s"`} {
		var cfg Config
		_ = json.Unmarshal([]byte(`{"config":"c","baseline":"a","canary":"b","window":"30m","step":`+step+`,"end":"`+end.Format(time.RFC3339)+`"}`), &cfg)
		spec, err := cfg.spec(time.Now())
		if err != nil {
			t.Fatalf("step %s: %v", step, err)
		}
		b, _ := json.Marshal(spec)
		for _, want := range []string{`"start":"2026-01-05T11:30:00Z"`, `"end":"2026-01-05T12:00:00Z"`, `"step_seconds":120`, `"scope":"b"`, `"canary_config_name":"c"`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("step %s: spec %s lacks %s", step, b, want)
			}
		}
	}
}

// TestToken checks where the token comes from: a Secret, in the
// AnalysisRun's namespace unless named, or a file; a failing read names
// the Secret, never a token.
func TestToken(t *testing.T) {
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}}
	var asked []string
	p := &Plugin{Secrets: func(_ context.Context, ns, name, key string) (string, error) {
		asked = append(asked, ns+"/"+name+"/"+key)
		if name == "missing" {
			return "", errors.New("not found")
		}
		return "s3cret-token\n", nil
	}}
	var cfg Config
	_ = json.Unmarshal([]byte(`{"token":{"secretRef":{"name":"judge-token","key":"token"}}}`), &cfg)
	if tok, err := p.token(context.Background(), cfg, run); err != nil || tok != "s3cret-token" || asked[0] != "shop/judge-token/token" {
		t.Errorf("secret in the run's namespace: %q %v %v", tok, err, asked)
	}
	_ = json.Unmarshal([]byte(`{"token":{"secretRef":{"namespace":"argo-rollouts","name":"missing","key":"token"}}}`), &cfg)
	if _, err := p.token(context.Background(), cfg, run); err == nil || !strings.Contains(err.Error(), "argo-rollouts/missing") {
		t.Errorf("missing secret: %v", err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = Config{Token: TokenSource{File: file}}
	if tok, err := p.token(context.Background(), cfg, run); err != nil || tok != "file-token" {
		t.Errorf("token file: %q %v", tok, err)
	}
	cfg = Config{Token: TokenSource{File: file + ".nope"}}
	if _, err := p.token(context.Background(), cfg, run); err == nil || strings.Contains(err.Error(), file) {
		t.Errorf("unreadable token file: %v", err)
	}
}

// TestShippedTemplate reads the plugin object of the AnalysisTemplate
// shipped in deploy/argo-rollouts, with its args as Argo substitutes them.
func TestShippedTemplate(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/argo-rollouts/analysis-template-plugin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tmpl v1alpha1.AnalysisTemplate
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	if len(tmpl.Spec.Metrics) != 1 {
		t.Fatalf("metrics %+v", tmpl.Spec.Metrics)
	}
	m := tmpl.Spec.Metrics[0]
	obj := strings.NewReplacer("{{args.stable-hash}}", "checkout-6f7b", "{{args.canary-hash}}", "checkout-9c2d").Replace(string(m.Provider.Plugin[Name]))
	m.Provider.Plugin[Name] = json.RawMessage(obj)
	cfg, err := config(m)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Token.SecretRef == nil || cfg.Token.SecretRef.Name != "judge-token" || cfg.Baseline != "checkout-6f7b" || cfg.Canary != "checkout-9c2d" {
		t.Errorf("shipped config %+v", cfg)
	}
	if _, err := cfg.spec(time.Now()); err != nil {
		t.Error(err)
	}
}
