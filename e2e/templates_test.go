package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	flaggerv1 "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	"github.com/fluxcd/flagger/pkg/controller"
	"github.com/fluxcd/flagger/pkg/metrics/providers"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/server/webhook"
	"github.com/canaryjudge/judge/store"
)

// verdictCase is an answer judge can give: the verdict decides; the score
// sits on either side of 95.
type verdictCase struct {
	result string
	score  float64
}

var verdictCases = []verdictCase{
	{"PASS", 100}, {"PASS", 96}, {"PASS", 94},
	{"MARGINAL", 96}, {"MARGINAL", 95}, {"MARGINAL", 80},
	{"FAIL", 99}, {"FAIL", 95}, {"FAIL", 94}, {"FAIL", 0},
}

// fixedVerdict is a judge service whose every analysis has one verdict.
type fixedVerdict struct {
	judgev1.UnimplementedJudgeServiceServer
	v verdictCase
	// look, when set, makes the verdict a look of a sequence.
	look *judgev1.SequenceLook
}

func (f *fixedVerdict) GetCanaryConfig(context.Context, *judgev1.GetCanaryConfigRequest) (*judgev1.GetCanaryConfigResponse, error) {
	return &judgev1.GetCanaryConfigResponse{}, nil
}

func (f *fixedVerdict) Analyze(context.Context, *judgev1.AnalyzeRequest) (*judgev1.AnalyzeResponse, error) {
	return &judgev1.AnalyzeResponse{Verdict: &judgev1.Verdict{Result: f.v.result, Score: f.v.score, Reason: "fixed",
		Thresholds: &judgev1.Thresholds{Pass: 95, Marginal: 75}, Look: f.look}}, nil
}

// webhookServer serves judge's webhook routes over svc.
func webhookServer(t *testing.T, svc judgev1.JudgeServiceServer) string {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	mux := http.NewServeMux()
	// The webhook's clock runs an hour ahead of the revision's first call
	// (the store's clock), so that the whole window is the revision's own
	// and the fixed verdict is answered at once.
	ahead := func() time.Time { return time.Now().Add(time.Hour) }
	for _, r := range webhook.Routes(webhook.Deps{Service: svc, MaxBodyBytes: 1 << 20, Verdicts: st, Now: ahead}) {
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// readYAML decodes the first YAML document of a shipped file into out.
func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, _, _ := strings.Cut(string(b), "\n---")
	if err := yaml.Unmarshal([]byte(doc), out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestShippedArgoWebTemplate runs the shipped web-provider AnalysisTemplate's
// own conditions and jsonPath through Argo Rollouts' web provider against
// PASS, MARGINAL and FAIL answers with scores on either side of 95: only
// PASS is Successful, every FAIL is Failed, whatever the score. A look of
// the sequence that decided nothing answers CONTINUE, a Successful
// measurement that lets the run go on to the look that decides, unless
// the look itself failed.
func TestShippedArgoWebTemplate(t *testing.T) {
	var tmpl v1alpha1.AnalysisTemplate
	readYAML(t, "../deploy/argo-rollouts/analysis-template-web.yaml", &tmpl)
	if len(tmpl.Spec.Metrics) != 1 || tmpl.Spec.Metrics[0].Provider.Web == nil {
		t.Fatalf("template: %+v", tmpl.Spec.Metrics)
	}
	undecided := &judgev1.SequenceLook{Sequence: "argo-web:b", Look: 1, Looks: 3, Decision: "continue", NextLevel: 0.01}
	for _, c := range verdictCases {
		for _, look := range []*judgev1.SequenceLook{nil, undecided} {
			url := webhookServer(t, &fixedVerdict{v: c, look: look})
			metric := tmpl.Spec.Metrics[0]
			web := *metric.Provider.Web
			web.URL, web.Headers = url+"/webhooks/argo", nil
			web.JSONBody = []byte(`{"config":"checkout","baseline":"a","canary":"b","window":"5m","step":"30"}`)
			metric.Provider.Web = &web
			m := runWebProvider(t, metric)
			want := map[string]v1alpha1.AnalysisPhase{"PASS": v1alpha1.AnalysisPhaseSuccessful, "MARGINAL": v1alpha1.AnalysisPhaseInconclusive,
				"FAIL": v1alpha1.AnalysisPhaseFailed}[c.result]
			wantValue := `"` + c.result + `"`
			if look != nil && c.result != "FAIL" {
				want, wantValue = v1alpha1.AnalysisPhaseSuccessful, `"CONTINUE"`
			}
			if m.Phase != want || m.Value != wantValue {
				t.Errorf("%s at score %g (look %v): %s (value %q, %s), want %s with %s", c.result, c.score, look != nil, m.Phase, m.Value, m.Message, want, wantValue)
			}
		}
	}
}

// TestShippedFlaggerTemplates calls judge's Flagger webhook with the shipped
// Canary's webhook metadata through Flagger's own CallWebhook, then reads
// the shipped MetricTemplate's query with Flagger's Prometheus provider and
// checks it against the Canary's thresholdRange as Flagger's scheduler does:
// only PASS (MARGINAL too with marginal: pass) passes either check.
func TestShippedFlaggerTemplates(t *testing.T) {
	var canary flaggerv1.Canary
	readYAML(t, "../deploy/flagger/canary.yaml", &canary)
	var mt flaggerv1.MetricTemplate
	readYAML(t, "../deploy/flagger/metric-template.yaml", &mt)
	if canary.Spec.Analysis == nil || len(canary.Spec.Analysis.Webhooks) != 1 || len(canary.Spec.Analysis.Metrics) != 1 {
		t.Fatalf("canary: %+v", canary.Spec.Analysis)
	}
	hook, check := canary.Spec.Analysis.Webhooks[0], canary.Spec.Analysis.Metrics[0]
	if check.TemplateRef == nil || check.TemplateRef.Name != mt.Name || check.ThresholdRange == nil {
		t.Fatalf("the Canary's metric %+v does not use the shipped MetricTemplate %q with a thresholdRange", check, mt.Name)
	}
	for _, c := range verdictCases {
		url := webhookServer(t, &fixedVerdict{v: c})
		hook := hook
		hook.URL = url + "/webhooks/flagger"
		target := metav1.ObjectMeta{Name: canary.Name, Namespace: canary.Namespace}
		hookErr := controller.CallWebhook(flaggerv1.Canary{ObjectMeta: target}, flaggerv1.CanaryPhaseProgressing, hook)
		prom, err := providers.NewPrometheusProvider(flaggerv1.MetricTemplateProvider{Type: "prometheus", Address: url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		query := strings.NewReplacer("{{ target }}", canary.Spec.TargetRef.Name, "{{ namespace }}", canary.Namespace).Replace(mt.Spec.Query)
		val, err := prom.RunQuery(query)
		if err != nil {
			t.Fatalf("%s at %g: query %q: %v", c.result, c.score, query, err)
		}
		tr := check.ThresholdRange
		metricPassed := !(tr.Min != nil && val < *tr.Min) && !(tr.Max != nil && val > *tr.Max)
		wantPass := c.result == "PASS" || c.result == "MARGINAL" && (*hook.Metadata)["marginal"] == "pass"
		if (hookErr == nil) != wantPass {
			t.Errorf("%s at score %g: webhook check %v, want passed=%v", c.result, c.score, hookErr, wantPass)
		}
		if metricPassed != wantPass {
			t.Errorf("%s at score %g: metric %s = %g against %s passes=%v, want %v", c.result, c.score, mt.Name, val,
				fmt.Sprintf("min %v max %v", deref(tr.Min), deref(tr.Max)), metricPassed, wantPass)
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
