package e2e

import (
	"strings"
	"testing"
	"time"

	flaggerv1 "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	"github.com/fluxcd/flagger/pkg/controller"
	"github.com/fluxcd/flagger/pkg/metrics/providers"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestFlagger calls judge's Flagger endpoints with Flagger's own code: its
// controller's CallWebhook (which fails the check on a status above 202 and
// reports the body) and its Prometheus metric provider reading the score.
func TestFlagger(t *testing.T) {
	f := newFixture(t)
	// The config is stored through the Kayenta surface under an id; the
	// webhook finds it by its name.
	// Each case is its own revision (Flagger's checksum of the canary's
	// last applied spec): the checks of one revision are one sequence of
	// looks, which a regression fails for good.
	hook := func(pod, marginal string) error {
		canary := flaggerv1.Canary{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop"},
			Status: flaggerv1.CanaryStatus{LastAppliedSpec: pod + "-" + marginal}}
		md := map[string]string{"config": "checkout", "baseline": "base", "canary": pod,
			"end": f.end.Format(time.RFC3339), "window": "39m", "step": "60"}
		if marginal != "" {
			md["marginal"] = marginal
		}
		return controller.CallWebhook(canary, flaggerv1.CanaryPhaseProgressing, flaggerv1.CanaryWebhook{
			Name: "judge", Type: flaggerv1.RolloutHook, URL: "http://" + f.addr + "/webhooks/flagger", Timeout: "10s", Metadata: &md,
		})
	}
	if err := hook("good", ""); err != nil {
		t.Errorf("good canary: %v", err)
	}
	if err := hook("bad", ""); err == nil || !strings.Contains(err.Error(), "FAIL") || !strings.Contains(err.Error(), "latency") {
		t.Errorf("bad canary: %v, want a failed check naming the critical metric", err)
	}
	if err := hook("half", ""); err == nil || !strings.Contains(err.Error(), "MARGINAL") {
		t.Errorf("marginal canary: %v, want a failed check", err)
	}
	if err := hook("half", "pass"); err != nil {
		t.Errorf("marginal canary with marginal: pass: %v", err)
	}
	// The next check of the bad revision fails at once: its sequence
	// established the regression.
	if err := hook("bad", ""); err == nil || !strings.Contains(err.Error(), "has failed") {
		t.Errorf("bad canary's second check: %v, want its failed sequence named", err)
	}
	if err := hook("half", "pass"); err != nil {
		t.Errorf("marginal canary with marginal: pass, second check: %v", err)
	}

	prom, err := providers.NewPrometheusProvider(flaggerv1.MetricTemplateProvider{Type: "prometheus", Address: "http://" + f.addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	score, err := prom.RunQuery(`judge_score{name="checkout",namespace="shop"}`)
	if err != nil || score != 50 {
		t.Errorf("score query: %v %v, want the last (marginal) score 50", score, err)
	}
	if v, err := prom.RunQuery(`judge_verdict{name="checkout",namespace="shop"}`); err != nil || v != 1 {
		t.Errorf("verdict query: %v %v, want 1 (the last call passed the marginal canary: marginal: pass)", v, err)
	}
	if _, err := prom.RunQuery(`judge_score{name="unknown",namespace="shop"}`); err == nil {
		t.Error("a canary judge never scored has a value")
	}
	// The provider also checks the server is reachable.
	if ok, err := prom.IsOnline(); !ok || err != nil {
		t.Errorf("IsOnline: %v %v", ok, err)
	}
}
