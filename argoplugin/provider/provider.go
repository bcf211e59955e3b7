// Package provider is judge's Argo Rollouts metric provider plugin: each
// measurement is one of judge's asynchronous analyses. Run creates it,
// Resume polls it until judge's verdict is in (PASS is Successful, MARGINAL
// Inconclusive, FAIL Failed; an analysis that could not run is Error),
// Terminate cancels it. The plugin authenticates with a write token read
// from a Kubernetes Secret (or a file), so no route of judge has to be
// opened.
package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Name is the plugin's name in Argo Rollouts' configuration and in a
// metric's provider.plugin.
const Name = "canaryjudge/judge"

// Metadata keys of a measurement.
const (
	KeyAnalysisID = "analysisId"
	KeyReportURL  = "reportUrl"
	KeyResult     = "result"
	// ResultContinue is the result metadata of a look that decided
	// nothing: not a verdict.
	ResultContinue   = "CONTINUE"
	KeyFailedMetrics = "failedMetrics"
	// KeyLook is the measurement's place in judge's sequence: "k/N" of N
	// planned looks, "k" when open-ended, with judge's decision after a
	// space (continue, fail, pass, pass_early).
	KeyLook = "look"
)

// Config is the metric's provider.plugin["canaryjudge/judge"] object.
type Config struct {
	// Address is judge's base URL, e.g. http://judge.judge.svc:8080.
	Address string `json:"address"`
	// Token says where judge's write token is: a Secret key (in the
	// AnalysisRun's namespace unless given) or a file.
	Token TokenSource `json:"token"`
	// Config names the stored canary config.
	Config string `json:"config"`
	// Baseline and Canary are the scopes (deployments, pod selectors).
	Baseline string `json:"baseline"`
	Canary   string `json:"canary"`
	// Location, when set, is the scopes' region or cluster.
	Location string `json:"location"`
	// Window (a Go duration, default 10m) ends when the measurement
	// starts, or at End (RFC 3339) when given; Step (seconds, default 60)
	// is the series' resolution.
	Window string          `json:"window"`
	End    string          `json:"end"`
	Step   json.RawMessage `json:"step"`
	// MetricsAccount picks one of judge's metrics accounts.
	MetricsAccount string `json:"metricsAccount"`
	// PassEarly lets a measurement before the last pass on equivalence
	// (every metric's interval inside its allowed bounds): judge's
	// sequence then says pass_early, and later measurements go on judging.
	PassEarly bool `json:"passEarly"`
	// Thresholds, when set, override the config's.
	Thresholds *struct {
		Pass     float64 `json:"pass"`
		Marginal float64 `json:"marginal"`
	} `json:"thresholds"`
}

// TokenSource locates the token.
type TokenSource struct {
	SecretRef *struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Key       string `json:"key"`
	} `json:"secretRef"`
	File string `json:"file"`
}

// Secrets reads a key of a Kubernetes Secret.
type Secrets func(ctx context.Context, namespace, name, key string) (string, error)

// Plugin implements Argo Rollouts' RPC metric provider.
type Plugin struct {
	// Secrets reads tokens from Secrets (nil: in-cluster, set by
	// InitPlugin).
	Secrets Secrets
	// Client calls judge (http.DefaultClient with a timeout when nil).
	Client *http.Client
	// Now is the clock.
	Now func() time.Time
}

var _ rpc.MetricProviderPlugin = (*Plugin)(nil)

// InitPlugin prepares the Secret reader.
func (p *Plugin) InitPlugin() types.RpcError {
	if p.Client == nil {
		p.Client = &http.Client{Timeout: 20 * time.Second}
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Secrets == nil {
		p.Secrets = inClusterSecrets
	}
	return types.RpcError{}
}

// Type is the provider type.
func (p *Plugin) Type() string { return "RPCPlugin" }

// GetMetadata describes the metric's provider.
func (p *Plugin) GetMetadata(metric v1alpha1.Metric) map[string]string {
	cfg, err := config(metric)
	if err != nil {
		return nil
	}
	return map[string]string{"judge": cfg.Address, "config": cfg.Config}
}

// GarbageCollect has nothing to collect: judge keeps its analyses under its
// own retention.
func (p *Plugin) GarbageCollect(*v1alpha1.AnalysisRun, v1alpha1.Metric, int) types.RpcError {
	return types.RpcError{}
}

// config reads the metric's plugin object, naming what is wrong.
func config(metric v1alpha1.Metric) (Config, error) {
	var cfg Config
	raw, ok := metric.Provider.Plugin[Name]
	if !ok {
		return cfg, fmt.Errorf("metric %s: provider.plugin has no %q", metric.Name, Name)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("metric %s: provider.plugin[%q]: %w", metric.Name, Name, err)
	}
	u, err := url.Parse(cfg.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("metric %s: address %.80q: want judge's http(s) URL", metric.Name, cfg.Address)
	}
	if cfg.Config == "" || cfg.Baseline == "" || cfg.Canary == "" {
		return cfg, fmt.Errorf("metric %s: config, baseline and canary are required", metric.Name)
	}
	return cfg, nil
}

// spec is the analysis a measurement asks judge for.
func (cfg Config) spec(now time.Time) (map[string]any, error) {
	window := 10 * time.Minute
	if cfg.Window != "" {
		d, err := time.ParseDuration(cfg.Window)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("window %.40q: want a duration such as 10m", cfg.Window)
		}
		window = d
	}
	if cfg.End != "" {
		end, err := time.Parse(time.RFC3339, cfg.End)
		if err != nil {
			return nil, fmt.Errorf("end %.40q: want an RFC 3339 time", cfg.End)
		}
		now = end
	}
	step := int64(60)
	if len(cfg.Step) > 0 {
		s := strings.Trim(string(cfg.Step), `"`)
		n, err := strconv.ParseInt(strings.TrimSuffix(s, "s"), 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("step %.40s: want a number of seconds", cfg.Step)
		}
		step = n
	}
	scope := func(name string) map[string]any {
		return map[string]any{"scope": name, "location": cfg.Location, "start": now.Add(-window).UTC().Format(time.RFC3339),
			"end": now.UTC().Format(time.RFC3339), "step_seconds": step}
	}
	spec := map[string]any{
		"canary_config_name": cfg.Config,
		"scopes":             map[string]any{"default": map[string]any{"control_scope": scope(cfg.Baseline), "experiment_scope": scope(cfg.Canary)}},
		"metrics_account":    cfg.MetricsAccount,
	}
	if t := cfg.Thresholds; t != nil {
		spec["thresholds"] = map[string]float64{"pass": t.Pass, "marginal": t.Marginal}
	}
	return spec, nil
}

// plannedLooks is the number of measurements Argo Rollouts will take of a
// metric: its count; 1 without count or interval (one measurement); 0,
// open-ended, for an interval without a count (measured until the
// rollout ends) or a count judge cannot read.
func plannedLooks(metric v1alpha1.Metric) int {
	if metric.Count != nil {
		if n := metric.Count.IntValue(); n > 0 && n <= 1000 {
			return n
		}
		return 0
	}
	if metric.Interval == "" {
		return 1
	}
	return 0
}

// token reads the write token.
func (p *Plugin) token(ctx context.Context, cfg Config, run *v1alpha1.AnalysisRun) (string, error) {
	switch t := cfg.Token; {
	case t.SecretRef != nil:
		ns := t.SecretRef.Namespace
		if ns == "" {
			ns = run.Namespace
		}
		v, err := p.Secrets(ctx, ns, t.SecretRef.Name, t.SecretRef.Key)
		if err != nil {
			return "", fmt.Errorf("token: secret %s/%s key %s: %w", ns, t.SecretRef.Name, t.SecretRef.Key, err)
		}
		return strings.TrimSpace(v), nil
	case t.File != "":
		b, err := os.ReadFile(t.File)
		if err != nil {
			return "", fmt.Errorf("token: the file named by token.file cannot be read")
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// call sends a request to judge and decodes its JSON answer.
func (p *Plugin) call(ctx context.Context, token, method, url string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return fmt.Errorf("judge unreachable: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("judge answered %d: %s", resp.StatusCode, e.Message)
	}
	return json.Unmarshal(raw, out)
}

type analysis struct {
	Analysis struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Error   string `json:"error"`
		Verdict struct {
			Result  string  `json:"result"`
			Score   float64 `json:"score"`
			Reason  string  `json:"reason"`
			Metrics []struct {
				Name           string `json:"name"`
				Classification string `json:"classification"`
			} `json:"metrics"`
			Look struct {
				Look     int    `json:"look"`
				Looks    int    `json:"looks"`
				Decision string `json:"decision"`
			} `json:"look"`
		} `json:"verdict"`
	} `json:"analysis"`
}

// errorMeasurement marks a measurement as Error with a message.
func (p *Plugin) errorMeasurement(m v1alpha1.Measurement, err error) v1alpha1.Measurement {
	now := metav1.NewTime(p.Now())
	m.Phase, m.Message, m.FinishedAt = v1alpha1.AnalysisPhaseError, err.Error(), &now
	return m
}

// Run creates judge's analysis of the window ending now.
func (p *Plugin) Run(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	started := metav1.NewTime(p.Now())
	m := v1alpha1.Measurement{StartedAt: &started, Metadata: map[string]string{}}
	cfg, err := config(metric)
	if err != nil {
		return p.errorMeasurement(m, err)
	}
	spec, err := cfg.spec(p.Now())
	if err != nil {
		return p.errorMeasurement(m, fmt.Errorf("metric %s: %w", metric.Name, err))
	}
	spec["application"] = run.Namespace + "/" + run.Name
	// Every measurement of this metric of this AnalysisRun is one look of
	// a sequence judge numbers and stores, so that the level holds over
	// all of them: count planned looks, or open-ended for a metric
	// measured until the rollout ends (an interval without a count).
	spec["sequence"] = fmt.Sprintf("argo:%s/%s/%s/%s", run.Namespace, run.Name, run.UID, metric.Name)
	spec["looks"] = plannedLooks(metric)
	spec["pass_early"] = cfg.PassEarly
	ctx := context.Background()
	token, err := p.token(ctx, cfg, run)
	if err != nil {
		return p.errorMeasurement(m, err)
	}
	var created analysis
	if err := p.call(ctx, token, http.MethodPost, strings.TrimSuffix(cfg.Address, "/")+"/v1/analyses", map[string]any{"spec": spec}, &created); err != nil {
		return p.errorMeasurement(m, err)
	}
	id := created.Analysis.ID
	m.Phase = v1alpha1.AnalysisPhaseRunning
	m.Metadata[KeyAnalysisID] = id
	m.Metadata[KeyReportURL] = strings.TrimSuffix(cfg.Address, "/") + "/ui/analyses/" + url.PathEscape(id)
	return m
}

// Resume reads the analysis: still running, or judge's verdict.
func (p *Plugin) Resume(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	cfg, err := config(metric)
	if err != nil {
		return p.errorMeasurement(m, err)
	}
	id := m.Metadata[KeyAnalysisID]
	if id == "" {
		return p.errorMeasurement(m, errors.New("the measurement has no analysisId"))
	}
	ctx := context.Background()
	token, err := p.token(ctx, cfg, run)
	if err != nil {
		return p.errorMeasurement(m, err)
	}
	var a analysis
	if err := p.call(ctx, token, http.MethodGet, strings.TrimSuffix(cfg.Address, "/")+"/v1/analyses/"+url.PathEscape(id), nil, &a); err != nil {
		// A transient failure: Argo resumes again at the next interval
		// while the measurement stays Running; its consecutiveErrorLimit
		// bounds how long.
		return p.errorMeasurement(m, err)
	}
	switch a.Analysis.Status {
	case "ANALYSIS_STATUS_PENDING", "ANALYSIS_STATUS_RUNNING":
		return m
	case "ANALYSIS_STATUS_SUCCEEDED":
	case "ANALYSIS_STATUS_CANCELED":
		return p.errorMeasurement(m, fmt.Errorf("judge analysis %s was cancelled", id))
	default:
		return p.errorMeasurement(m, fmt.Errorf("judge analysis %s did not finish: %s", id, a.Analysis.Error))
	}
	v := a.Analysis.Verdict
	now := metav1.NewTime(p.Now())
	m.FinishedAt = &now
	m.Value = strconv.FormatFloat(v.Score, 'f', -1, 64)
	m.Message = fmt.Sprintf("%s: %s", v.Result, v.Reason)
	m.Metadata[KeyResult] = v.Result
	var failed []string
	for _, mr := range v.Metrics {
		if mr.Classification != "PASS" {
			failed = append(failed, mr.Name)
		}
	}
	slices.Sort(failed)
	m.Metadata[KeyFailedMetrics] = strings.Join(failed, ",")
	if l := v.Look; l.Decision != "" {
		place := strconv.Itoa(l.Look)
		if l.Looks > 0 {
			place += "/" + strconv.Itoa(l.Looks)
		}
		m.Metadata[KeyLook] = place + " " + l.Decision
	}
	// A look of the sequence that decided nothing (and did not fail) is no
	// verdict: its measurement lets the AnalysisRun go on to the next
	// look, which decides, and says so.
	if v.Look.Decision == "continue" && v.Result != "FAIL" {
		m.Metadata[KeyResult] = ResultContinue
		m.Message = fmt.Sprintf("%s: no decision yet (look %s; this look alone: %s): a later measurement of this metric decides. %s", ResultContinue, m.Metadata[KeyLook], v.Result, v.Reason)
		m.Phase = v1alpha1.AnalysisPhaseSuccessful
		return m
	}
	// The verdict decides, never the score.
	switch v.Result {
	case "PASS":
		m.Phase = v1alpha1.AnalysisPhaseSuccessful
	case "MARGINAL":
		m.Phase = v1alpha1.AnalysisPhaseInconclusive
	case "FAIL":
		m.Phase = v1alpha1.AnalysisPhaseFailed
	default:
		return p.errorMeasurement(m, fmt.Errorf("judge analysis %s has no verdict judge knows (%q)", id, v.Result))
	}
	return m
}

// Terminate cancels the analysis (Argo terminates measurements when a
// rollout is aborted or its analysis is no longer needed); judge's
// cancelled analysis never passes.
func (p *Plugin) Terminate(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	cfg, err := config(metric)
	if err != nil {
		return p.errorMeasurement(m, err)
	}
	ctx := context.Background()
	token, err := p.token(ctx, cfg, run)
	if err != nil {
		return p.errorMeasurement(m, err)
	}
	if id := m.Metadata[KeyAnalysisID]; id != "" {
		var out map[string]any
		if err := p.call(ctx, token, http.MethodPost, strings.TrimSuffix(cfg.Address, "/")+"/v1/analyses/"+url.PathEscape(id)+":cancel", map[string]any{}, &out); err != nil {
			return p.errorMeasurement(m, err)
		}
	}
	// As Argo's own providers: a terminated measurement is Successful
	// with Argo's "Metric Terminated" message; it is no verdict of judge's.
	now := metav1.NewTime(p.Now())
	m.Phase, m.FinishedAt = v1alpha1.AnalysisPhaseSuccessful, &now
	m.Metadata[KeyResult] = "TERMINATED"
	return m
}
