// Package webhook serves the deployer endpoints that call judge
// synchronously: Argo Rollouts' web metric provider (/webhooks/argo: the
// verdict as JSON with score and result for jsonPath), Flagger's webhooks
// (/webhooks/flagger: 200 on PASS, 409 with the explanation on FAIL) and a
// Prometheus-compatible /api/v1/query that answers the latest score of a
// Flagger canary as a one-sample vector for metric templates. Each analysis
// fetches from the metrics accounts for a window ending now and is judged
// within the deployers' default 10 s timeout.
package webhook

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/sequence"
	"github.com/canaryjudge/judge/server/httpreply"
	"github.com/canaryjudge/judge/server/kayentaapi"
	"github.com/canaryjudge/judge/store"
)

// maxWindow bounds the window of one analysis.
const maxWindow = 31 * 24 * time.Hour

// Deadline bounds one synchronous analysis: under Argo Rollouts' and
// Flagger's default 10 s timeouts.
const Deadline = 9 * time.Second

// Deps are what the endpoints need.
type Deps struct {
	// Service is judge's service, called in-process.
	Service judgev1.JudgeServiceServer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
	// Verdicts keeps Flagger's verdicts in the database, so that every
	// replica, and a restarted one, answers the same score query.
	Verdicts Verdicts
	// ScoreMaxAge is how old a Flagger verdict may be and still be
	// answered by the score query (default 5m): a stale verdict is no
	// verdict.
	ScoreMaxAge time.Duration
	// Record, when set, judges a spec as Analyze does and stores the
	// analysis, returning its id (empty when it could not be stored), so
	// that answers carry analysisId and reportUrl.
	Record func(ctx context.Context, spec *judgev1.AnalysisSpec) (string, *judgev1.Verdict, error)
}

// Verdicts stores Flagger's verdicts per canary revision; *store.Store
// implements it.
type Verdicts interface {
	SeeFlaggerRevision(ctx context.Context, namespace, name, checksum, owner string) (time.Time, error)
	RecordFlaggerVerdict(ctx context.Context, v store.FlaggerVerdict) error
	LatestFlaggerVerdict(ctx context.Context, namespace, name string, since time.Time) (store.FlaggerVerdict, error)
}

var _ Verdicts = (*store.Store)(nil)

// DefaultScoreMaxAge is the default of Deps.ScoreMaxAge.
const DefaultScoreMaxAge = 5 * time.Minute

// Routes are the endpoints, each with the role its operation needs: the
// Argo Rollouts and Flagger webhooks fetch from the metrics accounts and
// run an analysis, so they need write whatever the method; the score query
// only reads what a webhook remembered.
func Routes(d Deps) []auth.Route {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.ScoreMaxAge <= 0 {
		d.ScoreMaxAge = DefaultScoreMaxAge
	}
	h := &handler{Deps: d}
	route := func(pattern string, role auth.Role, f http.HandlerFunc) auth.Route {
		return auth.Route{Pattern: pattern, Role: role, Handler: f}
	}
	// The webhooks write their deployer's sequences and verdicts, so they
	// are never served without a token; Flagger, which sends no headers,
	// gives a namespace-scoped one in the URL.
	writes := func(pattern string, f http.HandlerFunc, urlToken bool) auth.Route {
		return auth.Route{Pattern: pattern, Role: auth.RoleWrite, Closed: true, URLToken: urlToken, Handler: f}
	}
	return []auth.Route{
		writes("GET /webhooks/argo", h.argo, false),
		writes("POST /webhooks/argo", h.argo, false),
		writes("POST /webhooks/flagger", h.flagger, true),
		route("GET /api/v1/query", auth.RoleRead, h.promQuery),
		route("POST /api/v1/query", auth.RoleRead, h.promQuery),
	}
}

type handler struct {
	Deps
}

// request says what to judge: a stored canary config, the baseline and
// canary scopes and a window ending now (or start/end).
type request struct {
	Config         string            `json:"config"`
	Baseline       string            `json:"baseline"`
	Canary         string            `json:"canary"`
	Location       string            `json:"location"`
	Window         string            `json:"window"`
	Start          string            `json:"start"`
	End            string            `json:"end"`
	Step           jsonScalar        `json:"step"`
	MetricsAccount string            `json:"metricsAccount"`
	Params         map[string]string `json:"extendedScopeParams"`
	// Namespace, when set, is the first segment of the sequence's name
	// (argo-web:<namespace>/<sequence>), which a namespace-scoped token
	// needs.
	Namespace string `json:"namespace"`
	// Sequence, when set, makes the analysis the next look of the named
	// sequence (AnalysisSpec.sequence) with Looks planned looks (0 or
	// unset: open-ended); PassEarly lets a look before the last pass on
	// equivalence.
	Sequence  string     `json:"sequence"`
	Looks     jsonScalar `json:"looks"`
	PassEarly jsonScalar `json:"passEarly"`
	// Timeout is the caller's own timeout (Argo Rollouts' web provider:
	// the template's timeoutSeconds, 10 s by default), as a duration
	// ("30s") or seconds: judge answers before it (timeoutDeadline).
	Timeout jsonScalar `json:"timeout"`
}

// jsonScalar is a parameter that a JSON body may give as a string or a
// number (Argo Rollouts' jsonBody keeps the template's types: "step": 60),
// held as its text.
type jsonScalar string

// UnmarshalJSON reads a JSON string or number.
func (j *jsonScalar) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*j = jsonScalar(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		kind := map[byte]string{'t': "bool", 'f': "bool", '{': "object", '[': "array"}[b[0]]
		// A type error, so that the decoder names the field.
		return &json.UnmarshalTypeError{Value: cmp.Or(kind, "value"), Type: reflect.TypeFor[string]()}
	}
	*j = jsonScalar(n)
	return nil
}

// maxTimeout bounds the timeout a caller may give.
const maxTimeout = 5 * time.Minute

// timeoutDeadline is how long an analysis may take for a caller that gives
// up after timeout ("30s", or seconds: "30"): a tenth of it, at most a
// second, is left for the answer to travel. Without one, Deadline.
func timeoutDeadline(timeout jsonScalar) (time.Duration, error) {
	if timeout == "" {
		return Deadline, nil
	}
	d, err := time.ParseDuration(string(timeout))
	if err != nil {
		secs, nerr := strconv.ParseFloat(string(timeout), 64)
		if nerr != nil || math.IsNaN(secs) || secs > maxTimeout.Seconds() {
			return 0, fmt.Errorf("timeout: %.40q is not a duration from 2s to %s, such as 30s", timeout, maxTimeout)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 2*time.Second || d > maxTimeout {
		return 0, fmt.Errorf("timeout: %.40q is not a duration from 2s to %s, such as 30s", timeout, maxTimeout)
	}
	return d - min(time.Second, d/10), nil
}

// spec turns a request into an analysis spec, naming the bad field.
func (r request) spec(now time.Time) (*judgev1.AnalysisSpec, error) {
	if r.Config == "" || r.Baseline == "" || r.Canary == "" {
		return nil, fmt.Errorf("config, baseline and canary are required")
	}
	step := int64(60)
	if r.Step != "" {
		s, err := strconv.ParseInt(strings.TrimSuffix(string(r.Step), "s"), 10, 64)
		if err != nil || s <= 0 || s > analysis.MaxStepSeconds {
			return nil, fmt.Errorf("step: %q is not a number of seconds from 1 to %d", r.Step, analysis.MaxStepSeconds)
		}
		step = s
	}
	end := now
	if r.End != "" {
		t, err := time.Parse(time.RFC3339, r.End)
		if err != nil {
			return nil, fmt.Errorf("end: %q is not an RFC 3339 time", r.End)
		}
		end = t
	}
	window := 10 * time.Minute
	if r.Window != "" {
		d, err := time.ParseDuration(r.Window)
		if err != nil || d <= 0 || d > maxWindow {
			return nil, fmt.Errorf("window: %q is not a duration from 1s to %s, such as 10m", r.Window, maxWindow)
		}
		window = d
	}
	start := end.Add(-window)
	if r.Start != "" {
		t, err := time.Parse(time.RFC3339, r.Start)
		if err != nil {
			return nil, fmt.Errorf("start: %q is not an RFC 3339 time", r.Start)
		}
		start = t
	}
	scope := func(name string) *analysis.Scope {
		return &analysis.Scope{Scope: name, Location: r.Location, Start: start, End: end, Step: step, ExtendedScopeParams: r.Params}
	}
	spec := &judgev1.AnalysisSpec{
		Config:         &judgev1.AnalysisSpec_CanaryConfigName{CanaryConfigName: r.Config},
		Scopes:         map[string]*judgev1.ScopePair{"default": protoconv.PairToProto(analysis.ScopePair{Control: scope(r.Baseline), Experiment: scope(r.Canary)})},
		MetricsAccount: r.MetricsAccount,
	}
	if r.Sequence == "" {
		if r.Looks != "" || r.PassEarly != "" {
			return nil, fmt.Errorf("looks and passEarly need a sequence")
		}
		return spec, nil
	}
	spec.Sequence = r.Sequence
	if r.Looks != "" {
		n, err := strconv.ParseInt(string(r.Looks), 10, 32)
		if err != nil || n < 0 || n > sequence.MaxLooks {
			return nil, fmt.Errorf("looks: %.40q is not a number of looks from 0 (open-ended) to %d", r.Looks, sequence.MaxLooks)
		}
		spec.Looks = int32(n)
	}
	switch r.PassEarly {
	case "", "false":
	case "true":
		spec.PassEarly = true
	default:
		return nil, fmt.Errorf("passEarly: %.40q: want true or false", r.PassEarly)
	}
	return spec, nil
}

// verdictBody is what the endpoints answer. Deployers decide on the
// verdict, never on the score: Argo Rollouts reads {$.result} (PASS,
// MARGINAL or FAIL, or CONTINUE for a look of a sequence that has not
// decided) or {$.pass} (true only for PASS); the score is for charts, and
// can sit above the pass threshold on a FAIL (a critical metric, the
// config's own thresholds).
type verdictBody struct {
	// AnalysisID and ReportURL name the stored analysis and its report.
	AnalysisID string `json:"analysisId,omitempty"`
	ReportURL  string `json:"reportUrl,omitempty"`
	Result     string `json:"result"`
	Pass       bool   `json:"pass"`
	// Decision, for a look of a sequence, is what it decided: continue
	// (nothing decided yet: Result is CONTINUE unless the look failed),
	// fail, pass or pass_early.
	Decision string         `json:"decision,omitempty"`
	Score    float64        `json:"score"`
	Reason   string         `json:"reason"`
	Metrics  []metricResult `json:"metrics"`
	// Look, for an analysis of a sequence, is its look.
	Look *lookBody `json:"look,omitempty"`
}

// ResultContinue is the result of a look that has not decided: it reads
// as no verdict, and a deployer goes on to the next look.
const ResultContinue = "CONTINUE"

// lookBody places an answer in its sequence: look k of looks (0:
// open-ended) and what it decided (continue, fail, pass, pass_early).
type lookBody struct {
	Sequence string `json:"sequence"`
	Look     int32  `json:"look"`
	Looks    int32  `json:"looks"`
	Decision string `json:"decision"`
}

type metricResult struct {
	Name           string `json:"name"`
	Classification string `json:"classification"`
	Reason         string `json:"reason"`
}

func toBody(v *judgev1.Verdict) verdictBody {
	out := verdictBody{Result: v.GetResult(), Pass: v.GetResult() == "PASS", Score: v.GetScore(), Reason: v.GetReason(), Metrics: []metricResult{}}
	for _, m := range v.GetMetrics() {
		out.Metrics = append(out.Metrics, metricResult{Name: m.GetName(), Classification: m.GetClassification(), Reason: m.GetReason()})
	}
	if l := v.GetLook(); l != nil {
		out.Look = &lookBody{Sequence: l.GetSequence(), Look: l.GetLook(), Looks: l.GetLooks(), Decision: l.GetDecision()}
		out.Decision = l.GetDecision()
		// A look that decided nothing is no verdict, unless it failed (a
		// failed look fails the deployer's measurement: the safe side).
		if l.GetDecision() == "continue" && out.Result != "FAIL" {
			final := "the last planned look"
			if l.GetLooks() > 0 {
				final = fmt.Sprintf("look %d of %d", l.GetLooks(), l.GetLooks())
			}
			out.Reason = fmt.Sprintf("no decision yet: look %d found no regression established (this look alone: %s); %s decides, or an earlier look that establishes a regression (the next look is tested at level %.3g). %s",
				l.GetLook(), out.Result, final, l.GetNextLevel(), out.Reason)
			out.Result, out.Pass = ResultContinue, false
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) { httpreply.JSON(w, code, v) }

// errorStatus maps a service error to an HTTP status (httpreply.Status);
// a deadline says how to give the analysis more time.
func errorStatus(w http.ResponseWriter, err error) (int, string) {
	code, msg := httpreply.Status(w, err)
	if code == http.StatusGatewayTimeout || code == httpreply.StatusClientClosed {
		msg = "the analysis did not finish in time (give a longer timeout)"
	}
	return code, msg
}

// analyze runs one synchronous analysis within deadline. The config is
// named by its stored name or, for configs stored through the Kayenta
// surface (under an id), by the name in the config: only when no config
// is stored under the name is it looked for by the name it gives itself
// (an unknown config is refused before anything is fetched or a look of a
// sequence begun, so the second attempt starts afresh).
func (h *handler) analyze(ctx context.Context, spec *judgev1.AnalysisSpec, deadline time.Duration) (string, *judgev1.Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	id, v, err := h.analyzeOnce(ctx, spec)
	if status.Code(err) != codes.NotFound {
		return id, v, err
	}
	name := spec.GetCanaryConfigName()
	if _, gerr := h.Service.GetCanaryConfig(ctx, &judgev1.GetCanaryConfigRequest{Name: name}); status.Code(gerr) != codes.NotFound {
		return id, v, err // the config exists: something else was not found
	}
	stored, found, ferr := kayentaapi.FindByName(ctx, h.Service, name)
	if ferr != nil || !found {
		return id, v, err
	}
	spec.Config = &judgev1.AnalysisSpec_CanaryConfigName{CanaryConfigName: stored}
	return h.analyzeOnce(ctx, spec)
}

func (h *handler) analyzeOnce(ctx context.Context, spec *judgev1.AnalysisSpec) (string, *judgev1.Verdict, error) {
	if h.Record != nil {
		return h.Record(ctx, spec)
	}
	resp, err := h.Service.Analyze(ctx, &judgev1.AnalyzeRequest{Spec: spec})
	if err != nil {
		return "", nil, err
	}
	return "", resp.GetVerdict(), nil
}

// reportURL is the address of an analysis' report as the caller reached
// judge (empty without an id or a usable Host).
func reportURL(r *http.Request, id string) string {
	if id == "" || r.Host == "" || strings.ContainsAny(r.Host, "/\\ @?#") {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/ui/analyses/" + url.PathEscape(id)
}
