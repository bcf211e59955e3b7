// Package kayentaapi serves the part of Spinnaker Kayenta's REST API that
// Spinnaker's canary stage and Argo Rollouts' kayenta provider use, over
// judge's own service: canary configs (/canaryConfig), executions
// (/canary, run as judge's persisted asynchronous analyses, so they survive
// restarts and run on any replica), their metric set pairs
// (/metricSetPairList), /judges, /credentials and the remote judge hook
// (/judge), and standalone canary analyses (/standalone_canary_analysis,
// driven by Scheduler). Errors are Kayenta's: 400 or 404 with
// {"message": …}.
package kayentaapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/kayenta"
	"github.com/canaryjudge/judge/metrics"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/server/httpreply"
	"github.com/canaryjudge/judge/verdict"
)

// Deps are what the surface needs of the service.
type Deps struct {
	// Service is judge's service, called in-process (the HTTP middleware
	// in front of this surface authenticates and bounds requests).
	Service judgev1.JudgeServiceServer
	// Observe, when set, counts an analysis judged here (the remote
	// judge), as the service counts its own.
	Observe func(result string, elapsed time.Duration)
	// Accounts lists the metrics accounts (no secrets in them).
	Accounts func() []metrics.Account
	// VerdictResult converts a stored verdict back to the engine's form.
	VerdictResult func(*judgev1.Verdict) *verdict.Result
	// MaxBodyBytes bounds a request body; MaxMetrics the metrics of a
	// config judged by the remote judge (other routes go through Service,
	// which holds every config to the same limit).
	MaxBodyBytes int64
	MaxMetrics   int
	// Standalone keeps standalone canary analyses (nil: not served).
	Standalone StandaloneStore
	// Validate checks an analysis spec as CreateAnalysis would, without
	// storing it.
	Validate func(context.Context, *judgev1.AnalysisSpec) error
	// MetricNames lists the metric names of a metrics account (the first
	// one when account is empty) that contain filter.
	MetricNames func(ctx context.Context, account, filter string) ([]string, error)
	// Differences, when set, lists what judge does differently with a
	// Kayenta config (kayenta.Differences): the warnings of POST and PUT
	// /canaryConfig.
	Differences func(raw []byte) []string
	// Admit, when set, takes one of the synchronous analyses' slots for the
	// remote judge and returns its release; its error is a service error
	// (UNAVAILABLE when judge is busy).
	Admit func(context.Context) (func(), error)
}

// Routes are the surface's routes, each with the role its operation
// needs. Starting a canary execution (stored config or ad hoc), a standalone
// analysis or the remote judge runs an analysis and needs write, whatever
// the method; ad-hoc analyses and config writes can never be opened to
// callers without a token.
func Routes(d Deps) []auth.Route {
	h := &handler{d}
	route := func(pattern string, role auth.Role, closed bool, f http.HandlerFunc) auth.Route {
		return auth.Route{Pattern: pattern, Role: role, Closed: closed, Handler: f}
	}
	return []auth.Route{
		route("GET /canaryConfig", auth.RoleRead, false, h.listConfigs),
		route("GET /canaryConfig/{id}", auth.RoleRead, false, h.getConfig),
		route("POST /canaryConfig", auth.RoleWrite, true, h.createConfig),
		route("PUT /canaryConfig/{id}", auth.RoleWrite, true, h.updateConfig),
		route("DELETE /canaryConfig/{id}", auth.RoleAdmin, true, h.deleteConfig),
		route("POST /canary/{configId}", auth.RoleWrite, false, h.startStored),
		route("POST /canary", auth.RoleWrite, true, h.startAdhoc),
		route("GET /canary/{id}", auth.RoleRead, false, h.execution),
		route("GET /canary/executions", auth.RoleRead, false, h.listExecutions),
		route("GET /metricSetPairList/{id}", auth.RoleRead, false, h.metricSetPairList),
		route("GET /judges", auth.RoleRead, false, h.judges),
		route("GET /credentials", auth.RoleRead, false, h.credentials),
		// Listing a source's metrics queries the source: write, as any
		// fetch from a source.
		route("GET /metadata/metricsService", auth.RoleWrite, false, h.metricsMetadata),
		route("POST /judge", auth.RoleWrite, false, h.remoteJudge),
		route("POST /standalone_canary_analysis/{configId}", auth.RoleWrite, false, h.startStandalone),
		route("POST /standalone_canary_analysis", auth.RoleWrite, true, h.startStandalone),
		route("GET /standalone_canary_analysis/{id}", auth.RoleRead, false, h.standaloneStatus),
		route("PUT /pipelines/{id}/cancel", auth.RoleWrite, false, h.cancelPipeline),
	}
}

type handler struct{ Deps }

func writeJSON(w http.ResponseWriter, code int, v any) { httpreply.JSON(w, code, v) }

func fail(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, kayenta.Error{Message: fmt.Sprintf(format, args...)})
}

// failStatus answers a service error as Kayenta would, with the HTTP
// surfaces' one status table (httpreply.Status).
func failStatus(w http.ResponseWriter, err error) {
	code, msg := httpreply.Status(w, err)
	fail(w, code, "%s", msg)
}

// readBody reads a JSON body of at most MaxBodyBytes.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, h.MaxBodyBytes+1))
	switch {
	case err != nil:
		fail(w, http.StatusBadRequest, "request body could not be read")
		return nil, false
	case int64(len(b)) > h.MaxBodyBytes:
		fail(w, http.StatusRequestEntityTooLarge, "request body larger than the limit of %d bytes", h.MaxBodyBytes)
		return nil, false
	}
	return b, true
}

// configBody is the part of a Kayenta CanaryConfig the surface reads.
type configBody struct {
	Name         string   `json:"name"`
	Applications []string `json:"applications"`
}

func toStruct(raw []byte) (*structpb.Struct, error) {
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, s); err != nil {
		return nil, errors.New("the canary config must be a JSON object")
	}
	return s, nil
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// listConfigs lists every stored config (filtered by application; a config
// naming no application is listed for all), as Kayenta's GET
// /canaryConfig. configurationAccountName is accepted and ignored: judge has
// one configuration store.
func (h *handler) listConfigs(w http.ResponseWriter, r *http.Request) {
	app := r.URL.Query().Get("application")
	out := []kayenta.ConfigSummary{}
	token := ""
	for {
		page, err := h.Service.ListCanaryConfigs(r.Context(), &judgev1.ListCanaryConfigsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			failStatus(w, err)
			return
		}
		for _, c := range page.GetCanaryConfigs() {
			full, err := h.Service.GetCanaryConfig(r.Context(), &judgev1.GetCanaryConfigRequest{Name: c.GetName()})
			if err != nil {
				failStatus(w, err)
				return
			}
			var body configBody
			raw, _ := protojson.Marshal(full.GetCanaryConfig().GetConfig())
			_ = json.Unmarshal(raw, &body)
			// A config that names no application (judge's native configs)
			// is listed for every application.
			if app != "" && len(body.Applications) > 0 && !slices.Contains(body.Applications, app) {
				continue
			}
			at := c.GetUpdateTime().AsTime()
			out = append(out, kayenta.ConfigSummary{ID: c.GetName(), Name: body.Name, UpdatedTimestamp: at.UnixMilli(),
				UpdatedTimestampIso: at.UTC().Format(time.RFC3339Nano), Applications: nonNil(body.Applications)})
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (h *handler) getConfig(w http.ResponseWriter, r *http.Request) {
	c, err := h.Service.GetCanaryConfig(r.Context(), &judgev1.GetCanaryConfigRequest{Name: r.PathValue("id")})
	if err != nil {
		failStatus(w, err)
		return
	}
	raw, err := protojson.Marshal(c.GetCanaryConfig().GetConfig())
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	if !kayenta.IsConfig(raw) {
		// A config stored in judge's native format is written as Kayenta's.
		cfg, err := kayenta.ParseConfig(raw, "stored config")
		if err != nil {
			fail(w, http.StatusInternalServerError, "internal error")
			return
		}
		kc, err := kayenta.ToCanaryConfig(cfg, nil)
		if err != nil {
			fail(w, http.StatusBadRequest, "config %s has no Kayenta form: %v", c.GetCanaryConfig().GetName(), err)
			return
		}
		if raw, err = json.Marshal(kc); err != nil {
			fail(w, http.StatusInternalServerError, "internal error")
			return
		}
	}
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	body["id"] = c.GetCanaryConfig().GetName()
	writeJSON(w, http.StatusOK, body)
}

// createConfig stores a new config under a new id. A name already used by
// another config is refused, as Kayenta does.
func (h *handler) createConfig(w http.ResponseWriter, r *http.Request) {
	raw, ok := h.readBody(w, r)
	if !ok {
		return
	}
	var body configBody
	if err := json.Unmarshal(raw, &body); err != nil || strings.TrimSpace(body.Name) == "" {
		fail(w, http.StatusBadRequest, "the canary config must be a JSON object with a name")
		return
	}
	if id, found, err := h.findByName(r.Context(), body.Name); err != nil {
		failStatus(w, err)
		return
	} else if found {
		fail(w, http.StatusBadRequest, "canary config with name %q already exists (id %s)", body.Name, id)
		return
	}
	h.putConfig(w, r, newID(), raw)
}

func (h *handler) updateConfig(w http.ResponseWriter, r *http.Request) {
	raw, ok := h.readBody(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if _, err := h.Service.GetCanaryConfig(r.Context(), &judgev1.GetCanaryConfigRequest{Name: id}); err != nil {
		failStatus(w, err)
		return
	}
	h.putConfig(w, r, id, raw)
}

func (h *handler) putConfig(w http.ResponseWriter, r *http.Request, id string, raw []byte) {
	s, err := toStruct(raw)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	delete(s.GetFields(), "id")
	if _, err := h.Service.PutCanaryConfig(r.Context(), &judgev1.PutCanaryConfigRequest{Name: id, Config: s}); err != nil {
		failStatus(w, err)
		return
	}
	out := map[string]any{"canaryConfigId": id}
	if h.Differences != nil {
		if warnings := h.Differences(raw); len(warnings) > 0 {
			out["warnings"] = warnings
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) deleteConfig(w http.ResponseWriter, r *http.Request) {
	if _, err := h.Service.DeleteCanaryConfig(r.Context(), &judgev1.DeleteCanaryConfigRequest{Name: r.PathValue("id")}); err != nil {
		failStatus(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) findByName(ctx context.Context, name string) (string, bool, error) {
	return FindByName(ctx, h.Service, name)
}

// FindByName returns the id of the stored config whose Kayenta name is
// name (configs created with POST /canaryConfig are stored under an id).
func FindByName(ctx context.Context, svc judgev1.JudgeServiceServer, name string) (string, bool, error) {
	token := ""
	for {
		page, err := svc.ListCanaryConfigs(ctx, &judgev1.ListCanaryConfigsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return "", false, err
		}
		for _, c := range page.GetCanaryConfigs() {
			full, err := svc.GetCanaryConfig(ctx, &judgev1.GetCanaryConfigRequest{Name: c.GetName()})
			if err != nil {
				return "", false, err
			}
			if full.GetCanaryConfig().GetConfig().GetFields()["name"].GetStringValue() == name {
				return c.GetName(), true, nil
			}
		}
		if token = page.GetNextPageToken(); token == "" {
			return "", false, nil
		}
	}
}

// executionRequest is Kayenta's CanaryExecutionRequest.
type executionRequest = analysis.Request

// spec builds the analysis of an execution request.
func spec(req *executionRequest, r *http.Request) (*judgev1.AnalysisSpec, error) {
	if req == nil || len(req.Scopes) == 0 {
		return nil, errors.New("the execution request has no scopes")
	}
	q := r.URL.Query()
	s := &judgev1.AnalysisSpec{Scopes: map[string]*judgev1.ScopePair{}, MetricsAccount: q.Get("metricsAccountName"),
		Application: q.Get("application"), Annotations: map[string]string{}}
	for key, param := range map[string]string{annotationParent: "parentPipelineExecutionId", annotationStorage: "storageAccountName",
		annotationConfiguration: "configurationAccountName"} {
		if v := q.Get(param); v != "" {
			s.Annotations[key] = v
		}
	}
	for name, pair := range req.Scopes {
		if pair.Control == nil || pair.Experiment == nil {
			return nil, fmt.Errorf("canary scope for named scope %s is missing experimentScope or controlScope keys", name)
		}
		s.Scopes[name] = protoconv.PairToProto(pair)
	}
	// Spinnaker's stage (and Argo Rollouts' kayenta provider) compare the
	// score with these thresholds themselves: without them, or with both
	// 0, they would promote any canary whatever judge's verdict.
	switch t := req.Thresholds; {
	case t == nil:
		return nil, errors.New(`thresholds: required (as Kayenta requires them): the caller compares the score with them, e.g. {"pass": 95, "marginal": 75}`)
	case t.Pass == 0 && t.Marginal == 0:
		return nil, errors.New(`thresholds: pass 0 and marginal 0 would let the caller, which compares the score with them, promote every canary; give the stage's thresholds, e.g. {"pass": 95, "marginal": 75}`)
	default:
		s.Thresholds = &judgev1.Thresholds{Pass: t.Pass, Marginal: t.Marginal}
	}
	return s, nil
}

// startStored starts an execution of a stored config.
func (h *handler) startStored(w http.ResponseWriter, r *http.Request) {
	raw, ok := h.readBody(w, r)
	if !ok {
		return
	}
	var req executionRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		fail(w, http.StatusBadRequest, "the body must be a CanaryExecutionRequest: %s", verdict.JSONErrorText(err))
		return
	}
	s, err := spec(&req, r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.Config = &judgev1.AnalysisSpec_CanaryConfigName{CanaryConfigName: r.PathValue("configId")}
	s.Annotations[annotationConfigID] = r.PathValue("configId")
	if s.Application == "" {
		s.Application = defaultApplication
	}
	h.create(w, r, s)
}

// startAdhoc starts an execution of an inline config.
func (h *handler) startAdhoc(w http.ResponseWriter, r *http.Request) {
	raw, ok := h.readBody(w, r)
	if !ok {
		return
	}
	var body struct {
		CanaryConfig     json.RawMessage   `json:"canaryConfig"`
		ExecutionRequest *executionRequest `json:"executionRequest"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		fail(w, http.StatusBadRequest, "the body must be {canaryConfig, executionRequest}: %s", verdict.JSONErrorText(err))
		return
	}
	if len(body.CanaryConfig) == 0 || body.ExecutionRequest == nil {
		fail(w, http.StatusBadRequest, "canaryConfig and executionRequest are both required")
		return
	}
	cfg, err := toStruct(body.CanaryConfig)
	if err != nil {
		fail(w, http.StatusBadRequest, "canaryConfig: %v", err)
		return
	}
	s, err := spec(body.ExecutionRequest, r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.Config = &judgev1.AnalysisSpec_CanaryConfig{CanaryConfig: cfg}
	s.Annotations[annotationConfigID] = adHoc
	if s.Application == "" {
		s.Application = adHoc
	}
	h.create(w, r, s)
}

func (h *handler) create(w http.ResponseWriter, r *http.Request, s *judgev1.AnalysisSpec) {
	resp, err := h.Service.CreateAnalysis(r.Context(), &judgev1.CreateAnalysisRequest{Spec: s})
	if err != nil {
		failStatus(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"canaryExecutionId": resp.GetAnalysis().GetId()})
}

func (h *handler) judges(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, []kayenta.Judge{
		{Name: verdict.KayentaJudgeName, Visible: true},
		{Name: string(verdict.JudgeDefault), Visible: true},
		{Name: string(verdict.JudgeKayenta), Visible: true},
		{Name: verdict.RemoteJudgeName, Visible: false},
	})
}

// credentials lists the metrics accounts, without secrets.
func (h *handler) credentials(w http.ResponseWriter, _ *http.Request) {
	out := []kayenta.Credential{}
	if h.Accounts != nil {
		for _, a := range h.Accounts() {
			out = append(out, kayenta.Credential{Name: a.Name, Type: a.Type, SupportedTypes: []string{"METRICS_STORE"},
				Locations: []string{}, RecommendedLocations: []string{}})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// metricsMetadata lists a metrics account's metrics as Kayenta's GET
// /metadata/metricsService (Deck's metric picker, through Gate):
// [{"name": …}] for a Prometheus account, whose names contain filter; an
// account that cannot list its metrics lists none.
func (h *handler) metricsMetadata(w http.ResponseWriter, r *http.Request) {
	if h.MetricNames == nil {
		fail(w, http.StatusBadRequest, "no metrics account is configured on this server")
		return
	}
	q := r.URL.Query()
	names, err := h.MetricNames(r.Context(), q.Get("metricsAccountName"), q.Get("filter"))
	switch {
	case errors.Is(err, analysis.ErrConfig):
		fail(w, http.StatusBadRequest, "%v", err)
		return
	case err != nil:
		fail(w, http.StatusBadGateway, "the metrics account could not list its metrics: %v", err)
		return
	}
	out := make([]map[string]string, len(names))
	for i, n := range names {
		out[i] = map[string]string{"name": n}
	}
	writeJSON(w, http.StatusOK, out)
}

// remoteJudge judges a Kayenta RemoteJudgeRequest: Kayenta fetched the
// series, judge judges them and answers a CanaryJudgeResult.
func (h *handler) remoteJudge(w http.ResponseWriter, r *http.Request) {
	raw, ok := h.readBody(w, r)
	if !ok {
		return
	}
	var req kayenta.RemoteJudgeRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		fail(w, http.StatusBadRequest, "the body must be a RemoteJudgeRequest: %s", verdict.JSONErrorText(err))
		return
	}
	if len(req.CanaryConfig) == 0 || len(req.MetricSetPairList) == 0 {
		fail(w, http.StatusBadRequest, "canaryConfig and metricSetPairList are both required")
		return
	}
	cfg, err := kayenta.ParseConfig(req.CanaryConfig, "canaryConfig")
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if h.MaxMetrics > 0 && len(cfg.Metrics) > h.MaxMetrics {
		fail(w, http.StatusBadRequest, "canaryConfig: %d metrics, more than the limit of %d", len(cfg.Metrics), h.MaxMetrics)
		return
	}
	pairs, err := verdict.ParseMetricSetPairList(req.MetricSetPairList, "metricSetPairList")
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	analysis.FillWindows(cfg, pairs)
	thresholds, err := verdict.RequestThresholds(req.ScoreThresholds)
	if err != nil {
		fail(w, http.StatusBadRequest, "scoreThresholds.%v", err)
		return
	}
	opts := verdict.Options{Thresholds: thresholds}
	if h.Admit != nil {
		release, err := h.Admit(r.Context())
		if err != nil {
			failStatus(w, err)
			return
		}
		defer release()
	}
	start := time.Now()
	res, err := analysis.JudgeInline(r.Context(), cfg, pairs, opts)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if h.Observe != nil {
		h.Observe(string(res.Result), time.Since(start))
	}
	writeJSON(w, http.StatusOK, kayenta.FromResult(res))
}
