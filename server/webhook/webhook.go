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
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/sequence"
	"github.com/canaryjudge/judge/server/httpreply"
	"github.com/canaryjudge/judge/server/kayentaapi"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
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
	scope := func(name string) *judgev1.Scope {
		return &judgev1.Scope{Scope: name, Location: r.Location, Start: timestamppb.New(start), End: timestamppb.New(end),
			StepSeconds: step, ExtendedScopeParams: r.Params}
	}
	spec := &judgev1.AnalysisSpec{
		Config:         &judgev1.AnalysisSpec_CanaryConfigName{CanaryConfigName: r.Config},
		Scopes:         map[string]*judgev1.ScopePair{"default": {ControlScope: scope(r.Baseline), ExperimentScope: scope(r.Canary)}},
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
// surface (under an id), by the name in the config.
func (h *handler) analyze(ctx context.Context, spec *judgev1.AnalysisSpec, deadline time.Duration) (string, *judgev1.Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	name := spec.GetCanaryConfigName()
	if _, err := h.Service.GetCanaryConfig(ctx, &judgev1.GetCanaryConfigRequest{Name: name}); status.Code(err) == codes.NotFound {
		if id, found, ferr := kayentaapi.FindByName(ctx, h.Service, name); ferr == nil && found {
			spec.Config = &judgev1.AnalysisSpec_CanaryConfigName{CanaryConfigName: id}
		}
	}
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

// argo serves Argo Rollouts' web provider: the parameters come as query
// parameters (GET) or a JSON body (POST jsonBody); the answer is 200 with
// the verdict whenever one was reached (the AnalysisTemplate's conditions
// decide), and an error status otherwise (a measurement Error).
func (h *handler) argo(w http.ResponseWriter, r *http.Request) {
	var req request
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, h.MaxBodyBytes+1))
		if err != nil || int64(len(body)) > h.MaxBodyBytes {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body unreadable or too large"})
			return
		}
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body must be a JSON object with config, baseline, canary: " + verdict.JSONErrorText(err)})
			return
		}
	} else {
		q := r.URL.Query()
		req = request{Config: q.Get("config"), Baseline: q.Get("baseline"), Canary: q.Get("canary"), Location: q.Get("location"),
			Window: q.Get("window"), Start: q.Get("start"), End: q.Get("end"), Step: jsonScalar(q.Get("step")), MetricsAccount: q.Get("metricsAccount"),
			Timeout: jsonScalar(q.Get("timeout")), Sequence: q.Get("sequence"), Looks: jsonScalar(q.Get("looks")), PassEarly: jsonScalar(q.Get("passEarly")),
			Namespace: q.Get("namespace")}
	}
	if req.Namespace != "" && !auth.IsNamespace(req.Namespace) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("namespace: %.64q is not a Kubernetes namespace name", req.Namespace)})
		return
	}
	if req.Sequence != "" {
		// The caller's name, kept apart from the plugin's and Flagger's.
		if req.Namespace != "" {
			req.Sequence = req.Namespace + "/" + req.Sequence
		}
		req.Sequence = "argo-web:" + req.Sequence
	}
	spec, err := req.spec(h.Now())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	deadline, err := timeoutDeadline(req.Timeout)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	id, v, err := h.analyze(auth.On(r.Context(), auth.SurfaceArgoWeb), spec, deadline)
	if err != nil {
		code, msg := errorStatus(w, err)
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	body := toBody(v)
	body.AnalysisID, body.ReportURL = id, reportURL(r, id)
	writeJSON(w, http.StatusOK, body)
}

// flaggerPayload is Flagger's CanaryWebhookPayload.
type flaggerPayload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata"`
}

// Bounds of the names Flagger's payload keys a verdict by.
const (
	maxNameBytes     = 253 // a Kubernetes object name
	maxChecksumBytes = 256
)

// What the name and checksum of a Flagger canary may be: a Kubernetes
// object name, and a checksum without separators, so that neither can reach
// into another canary's sequence name (namespaces: auth.IsNamespace).
var (
	objectName   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	checksumText = regexp.MustCompile(`^[A-Za-z0-9._-]{1,256}$`)
)

// minWindowSteps is the fewest steps of a revision's own data a Flagger
// window needs before judge judges it.
const minWindowSteps = 3

// flagger serves Flagger's webhooks. The webhook's metadata says what to
// judge: config (required), baseline (default <name>-primary), canary
// (default <name>), location, window (default 10m) ending now (or at end,
// RFC 3339), step (default 60), metricsAccount, marginal ("fail", the
// default, or "pass"), looks (the planned number of checks of a revision;
// default 0, open-ended), passEarly ("true": a check may pass the revision
// early on equivalence), and hook: "rollout" (the default), where PASS is
// 200 and FAIL (and MARGINAL unless marginal is pass) is 409 with the
// explanation as the body, which Flagger shows in its events; or
// "rollback", answered inverted, since Flagger rolls back on any 2xx from
// a rollback hook: 200 (roll back) unless the verdict passes.
//
// The window starts no earlier than the first call for the canary's
// revision (Flagger's checksum): points before it are the previous
// revision's. Until the revision has minWindowSteps steps of its own, the
// webhook answers that it is waiting (409 for a rollout hook: a failed
// check, never a pass; no rollback for a rollback hook). Each verdict is
// stored per revision for the score query, on every replica. Every check of
// a revision is one look of the sequence "flagger:<namespace>/<name>/
// <checksum>", so the level holds over all of them; a regression
// established at one check fails every later check of the revision.
func (h *handler) flagger(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, h.MaxBodyBytes+1))
	if err != nil || int64(len(body)) > h.MaxBodyBytes {
		http.Error(w, "judge: body unreadable or too large", http.StatusRequestEntityTooLarge)
		return
	}
	var p flaggerPayload
	if err := json.Unmarshal(body, &p); err != nil || p.Name == "" {
		http.Error(w, "judge: the body must be Flagger's webhook payload (name, namespace, phase, checksum, metadata)", http.StatusBadRequest)
		return
	}
	if !objectName.MatchString(p.Name) || len(p.Name) > maxNameBytes || !auth.IsNamespace(p.Namespace) || !checksumText.MatchString(p.Checksum) {
		http.Error(w, fmt.Sprintf("judge: name (a Kubernetes object name), namespace (a namespace name) and checksum (1 to %d letters, digits, '.', '_' or '-') are required", maxChecksumBytes), http.StatusBadRequest)
		return
	}
	md := p.Metadata
	rollback := false
	switch md["hook"] {
	case "", "rollout":
	case "rollback":
		rollback = true
	case "pre-rollout":
		http.Error(w, "judge: metadata.hook pre-rollout: a pre-rollout hook runs before the canary has traffic, so there is nothing to judge; use judge as a rollout hook", http.StatusBadRequest)
		return
	default:
		http.Error(w, fmt.Sprintf("judge: metadata.hook %.40q: want rollout or rollback", md["hook"]), http.StatusBadRequest)
		return
	}
	// answer writes the outcome: passed says whether the verdict passes
	// the canary (a rollout hook answers 2xx only then, a rollback hook
	// only otherwise).
	answer := func(passed bool, code int, text string) {
		if rollback {
			if passed || code == http.StatusTooEarly {
				http.Error(w, "judge: no rollback: "+text, http.StatusConflict)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			_, _ = io.WriteString(w, "judge: roll back: "+text+"\n") //nolint:gosec // plain text, not sniffed, for Flagger's events
			return
		}
		if passed {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			_, _ = io.WriteString(w, text+"\n") //nolint:gosec // plain text, not sniffed, for Flagger's events
			return
		}
		http.Error(w, text, cmp.Or(code, http.StatusConflict))
	}
	// Every check of one revision is one look of its sequence: open-ended
	// unless metadata.looks plans them (Flagger's iterations, or
	// maxWeight/stepWeight), shared by the rollout and rollback hooks.
	req := request{Config: md["config"], Baseline: md["baseline"], Canary: md["canary"], Location: md["location"],
		Window: md["window"], End: md["end"], Step: jsonScalar(md["step"]), MetricsAccount: md["metricsAccount"],
		Sequence: fmt.Sprintf("flagger:%s/%s/%s", p.Namespace, p.Name, p.Checksum), Looks: jsonScalar(md["looks"]), PassEarly: jsonScalar(md["passEarly"])}
	if req.Baseline == "" {
		req.Baseline = p.Name + "-primary"
	}
	if req.Canary == "" {
		req.Canary = p.Name
	}
	marginalPasses := false
	switch md["marginal"] {
	case "", "fail":
	case "pass":
		marginalPasses = true
	default:
		answer(false, http.StatusBadRequest, fmt.Sprintf("judge: metadata.marginal %.40q: want fail or pass", md["marginal"]))
		return
	}
	// Everything is validated before anything is written.
	if _, err := req.spec(h.Now()); err != nil {
		answer(false, http.StatusBadRequest, "judge: metadata: "+err.Error())
		return
	}
	ctx := auth.On(r.Context(), auth.SurfaceFlagger)
	caller := auth.CallerFrom(ctx)
	if err := caller.MayWriteNamespace(p.Namespace); err != nil {
		answer(false, http.StatusForbidden, "judge: "+err.Error())
		return
	}
	var first time.Time
	if h.Verdicts != nil {
		var err error
		first, err = h.Verdicts.SeeFlaggerRevision(ctx, p.Namespace, p.Name, p.Checksum, caller.Owner)
		switch {
		case errors.Is(err, store.ErrNotOwner):
			answer(false, http.StatusForbidden, "judge: "+err.Error()+": the canary's checks come from another token")
			return
		case err != nil:
			answer(false, http.StatusServiceUnavailable, "judge: database unavailable")
			return
		}
	}
	// The window ends now, after the revision was seen (validated above).
	spec, err := req.spec(h.Now())
	if err != nil {
		answer(false, http.StatusBadRequest, "judge: metadata: "+err.Error())
		return
	}
	if h.Verdicts != nil {
		if !clipToRevision(spec, first) {
			answer(false, http.StatusTooEarly, fmt.Sprintf("judge: waiting for data: revision %.16s of %s/%s was first seen at %s; judged once %d steps of it are in the window",
				p.Checksum, p.Namespace, p.Name, first.Format(time.RFC3339), minWindowSteps))
			return
		}
	}
	id, v, err := h.analyze(ctx, spec, Deadline)
	if err != nil {
		code, msg := errorStatus(w, err)
		answer(false, code, "judge: "+msg)
		return
	}
	report := ""
	if u := reportURL(r, id); u != "" {
		report = " (report: " + u + ")"
	}
	// An underpowered look is MARGINAL whatever metadata.marginal says: it
	// could not have seen the allowed effect.
	passed := v.GetResult() == "PASS" || v.GetResult() == "MARGINAL" && marginalPasses && !v.GetLook().GetUnderpowered()
	if h.Verdicts != nil {
		if err := h.Verdicts.RecordFlaggerVerdict(ctx, store.FlaggerVerdict{Namespace: p.Namespace, Name: p.Name, Checksum: p.Checksum,
			JudgedAt: h.Now(), Result: v.GetResult(), Passed: passed, Score: v.GetScore()}); err != nil {
			// The score query would answer an older verdict: this check
			// fails rather than pass on a verdict nobody can read back.
			answer(false, http.StatusServiceUnavailable, "judge: the verdict could not be stored: database unavailable")
			return
		}
	}
	answer(passed, http.StatusConflict, fmt.Sprintf("judge: %s score %.2f: %s%s", v.GetResult(), v.GetScore(), v.GetReason(), report))
}

// clipToRevision moves the start of every scope to first, the first call
// for the revision, when that is inside the window, and reports whether
// at least minWindowSteps steps remain. A window that ends before the
// revision was seen (an explicit end) is left as it is.
func clipToRevision(spec *judgev1.AnalysisSpec, first time.Time) bool {
	for _, pair := range spec.GetScopes() {
		for _, sc := range []*judgev1.Scope{pair.GetControlScope(), pair.GetExperimentScope()} {
			start, end := sc.GetStart().AsTime(), sc.GetEnd().AsTime()
			if !first.After(start) || first.After(end) {
				continue
			}
			if end.Sub(first) < time.Duration(minWindowSteps*sc.GetStepSeconds())*time.Second {
				return false
			}
			sc.Start = timestamppb.New(first)
		}
	}
	return true
}

var selector = regexp.MustCompile(`^\s*(judge_verdict|judge_score)\s*\{\s*((?:\w+\s*=\s*"[^"]*"\s*,?\s*)*)\}\s*$`)
var matcher = regexp.MustCompile(`(\w+)\s*=\s*"([^"]*)"`)

// promQuery answers vector(1) (Flagger's online check) with 1, and, for
// the latest judgement a Flagger webhook made of a canary,
// judge_verdict{name="…",namespace="…"} with 1 when the webhook passed it
// and 0 when it did not (what a MetricTemplate should decide on, with
// thresholdRange min 1), and judge_score{…} with its score (for charts:
// a FAIL can score above a threshold), each as a one-sample vector
// (Flagger's Prometheus provider reads data.result[0].value[1]). A canary
// judge has not judged yet answers an empty vector, which Flagger treats
// as "no values found" and halts on.
func (h *handler) promQuery(w http.ResponseWriter, r *http.Request) {
	q := r.FormValue("query")
	if strings.Join(strings.Fields(q), "") == "vector(1)" {
		// Flagger's provider checks that the server is online with vector(1).
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": []any{
			map[string]any{"metric": map[string]string{}, "value": []any{float64(h.Now().UnixMilli()) / 1000, "1"}}}}})
		return
	}
	m := selector.FindStringSubmatch(q)
	if m == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "errorType": "bad_data",
			"error": `judge answers only judge_verdict{name="<canary>",namespace="<namespace>"} and judge_score{…}`})
		return
	}
	labels := map[string]string{}
	for _, kv := range matcher.FindAllStringSubmatch(m[2], -1) {
		labels[kv[1]] = kv[2]
	}
	result := []any{}
	if h.Verdicts != nil {
		l, err := h.Verdicts.LatestFlaggerVerdict(r.Context(), labels["namespace"], labels["name"], h.Now().Add(-h.ScoreMaxAge))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "error", "errorType": "unavailable", "error": "database unavailable"})
			return
		default:
			value := l.Score
			if m[1] == "judge_verdict" {
				value = 0
				if l.Passed {
					value = 1
				}
			}
			result = append(result, map[string]any{
				"metric": map[string]string{"__name__": m[1], "name": labels["name"], "namespace": labels["namespace"]},
				"value":  []any{float64(l.JudgedAt.UnixMilli()) / 1000, strconv.FormatFloat(value, 'f', -1, 64)},
			})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
}
