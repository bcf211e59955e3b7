package kayentaapi

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/verdict"
)

// Annotations under which an execution keeps what its Kayenta client
// named when it started it (AnalysisSpec.annotations).
const (
	annotationParent        = "kayenta.parentPipelineExecutionId"
	annotationConfigID      = "kayenta.canaryConfigId"
	annotationStorage       = "kayenta.storageAccountName"
	annotationConfiguration = "kayenta.configurationAccountName"
)

// Applications of executions started without one, as Kayenta names them:
// an execution of a stored config gets "kayenta-" and the instance (judge:
// "kayenta-judge"), an ad-hoc one "ad-hoc", and GET /canary/executions
// lists "ad-hoc" when no application is given.
const (
	defaultApplication = "kayenta-judge"
	adHoc              = "ad-hoc"
)

// Kayenta's stage reference ids of a canary pipeline, whose statuses an
// execution reports in stageStatus (Deck reads them).
const (
	stageSetup      = "setupContext"
	stageControl    = "fetchControl"
	stageExperiment = "fetchExperiment"
	stageMix        = "mixMetrics"
	stageJudge      = "judge"
)

// execution reports an execution as Kayenta's CanaryExecutionStatusResponse.
func (h *handler) execution(w http.ResponseWriter, r *http.Request) {
	resp, err := h.Service.GetAnalysis(r.Context(), &judgev1.GetAnalysisRequest{Id: r.PathValue("id")})
	if err != nil {
		failStatus(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.status(resp.GetAnalysis()))
}

// status is an analysis as Kayenta's CanaryExecutionStatusResponse, with
// every field Orca's CanaryResults and Deck's ICanaryExecutionStatusResult
// read.
func (h *handler) status(a *judgev1.Analysis) kayenta.ExecutionStatus {
	spec := a.GetSpec()
	ann := spec.GetAnnotations()
	created, updated := a.GetCreateTime().AsTime(), a.GetUpdateTime().AsTime()
	cfg, kc := configOf(spec)
	out := kayenta.ExecutionStatus{
		Application:               cmp.Or(spec.GetApplication(), defaultApplication),
		ParentPipelineExecutionID: ann[annotationParent],
		PipelineID:                a.GetId(),
		CanaryConfigID:            cmp.Or(ann[annotationConfigID], a.GetCanaryConfigName()),
		Config:                    kc,
		MetricsAccountName:        h.metricsAccount(spec.GetMetricsAccount()),
		StorageAccountName:        ann[annotationStorage],
		ConfigurationAccountName:  ann[annotationConfiguration],
		BuildTimeMillis:           created.UnixMilli(),
		BuildTimeIso:              isoMillis(created),
	}
	out.CanaryExecutionRequest = requestOf(spec, cfg, a.GetVerdict())
	out.Status = kayenta.StatusOf(stateOf(a.GetStatus()))
	out.Complete = out.Status != kayenta.StatusNotStarted && out.Status != kayenta.StatusRunning
	switch a.GetStatus() {
	case judgev1.AnalysisStatus_ANALYSIS_STATUS_RUNNING:
		out.StartTimeMillis, out.StartTimeIso = updated.UnixMilli(), isoMillis(updated)
	case judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED:
		out.Result = &kayenta.ExecutionResult{JudgeResult: kayenta.FromResult(h.VerdictResult(a.GetVerdict())),
			CanaryDuration: canaryDuration(out.CanaryExecutionRequest)}
	case judgev1.AnalysisStatus_ANALYSIS_STATUS_FAILED:
		out.Exception = map[string]any{"exceptionType": "JudgeAnalysisFailed", "operation": "judge",
			"timestamp": updated.UnixMilli(), "details": map[string]any{"errors": []string{a.GetError()}}}
	}
	if out.Complete {
		out.EndTimeMillis, out.EndTimeIso = updated.UnixMilli(), isoMillis(updated)
		if out.StartTimeIso == "" {
			out.StartTimeMillis, out.StartTimeIso = created.UnixMilli(), isoMillis(created)
		}
	}
	if len(a.GetSeries()) > 0 {
		out.MetricSetPairListID = a.GetId()
	}
	metrics := 0
	if cfg != nil {
		metrics = len(cfg.Metrics)
	}
	out.StageStatus = stageStatus(out.Status, metrics, out.MetricSetPairListID != "")
	return out
}

// isoMillis writes t as Java's Instant.toString of a millisecond instant.
func isoMillis(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.999Z07:00")
}

// metricsAccount is the metrics account an execution reports: the one it
// named, else the only one the server has (Kayenta reports the account it
// resolved).
func (h *handler) metricsAccount(named string) string {
	if named != "" || h.Accounts == nil {
		return named
	}
	if accounts := h.Accounts(); len(accounts) == 1 {
		return accounts[0].Name
	}
	return ""
}

// configOf parses an analysis' config and writes it in Kayenta's form. A
// native config with no Kayenta form (a threshold test) is reported by its
// name with no metrics, so that Deck, which reads the config of every
// execution, still draws the report.
func configOf(spec *judgev1.AnalysisSpec) (*verdict.Config, any) {
	raw, err := protojson.Marshal(spec.GetCanaryConfig())
	if err != nil || spec.GetCanaryConfig() == nil {
		return nil, map[string]any{"name": "", "applications": []string{}, "metrics": []any{}}
	}
	cfg, err := kayenta.ParseConfig(raw, "config")
	if kayenta.IsConfig(raw) {
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		return cfg, body
	}
	if err != nil {
		return nil, map[string]any{"name": "", "applications": []string{}, "metrics": []any{}}
	}
	kc, err := kayenta.ToCanaryConfig(cfg, nil)
	if err != nil {
		return cfg, map[string]any{"name": cfg.Name, "applications": []string{}, "metrics": []any{}}
	}
	return cfg, kc
}

// requestOf is the CanaryExecutionRequest an execution ran: its scopes and
// the thresholds it was judged with (the request's, else the config's).
func requestOf(spec *judgev1.AnalysisSpec, cfg *verdict.Config, v *judgev1.Verdict) *kayenta.ExecutionRequest {
	if len(spec.GetScopes()) == 0 {
		return nil
	}
	req := &kayenta.ExecutionRequest{Scopes: map[string]kayenta.ScopePair{}}
	switch t := spec.GetThresholds(); {
	case t != nil:
		req.Thresholds = verdict.Thresholds{Pass: t.GetPass(), Marginal: t.GetMarginal()}
	case v != nil:
		req.Thresholds = verdict.Thresholds{Pass: v.GetThresholds().GetPass(), Marginal: v.GetThresholds().GetMarginal()}
	case cfg != nil:
		req.Thresholds = cfg.Thresholds
	}
	side := func(s *analysis.Scope) kayenta.Scope {
		params := s.ExtendedScopeParams
		if params == nil {
			params = map[string]string{}
		}
		return kayenta.Scope{Scope: s.Scope, Location: s.Location, Start: isoMillis(s.Start), End: isoMillis(s.End), Step: s.Step,
			ExtendedScopeParams: params}
	}
	for name, p := range protoconv.ScopesFromProto(spec.GetScopes()).Scopes {
		if p.Control == nil || p.Experiment == nil {
			continue // never stored: a spec is validated with both sides
		}
		req.Scopes[name] = kayenta.ScopePair{ControlScope: side(p.Control), ExperimentScope: side(p.Experiment)}
	}
	return req
}

// canaryDuration is Kayenta's CanaryExecutionRequest.calculateDuration:
// the one duration every control and experiment scope spans, or null when
// they differ.
func canaryDuration(req *kayenta.ExecutionRequest) *string {
	if req == nil {
		return nil
	}
	var found []time.Duration
	for _, p := range req.Scopes {
		for _, s := range []kayenta.Scope{p.ControlScope, p.ExperimentScope} {
			start, err1 := time.Parse(time.RFC3339, s.Start)
			end, err2 := time.Parse(time.RFC3339, s.End)
			if err1 != nil || err2 != nil {
				return nil
			}
			found = append(found, end.Sub(start))
		}
	}
	if len(found) == 0 {
		return nil // series given inline: no scope spans anything
	}
	for _, d := range found[1:] {
		if d != found[0] {
			return nil
		}
	}
	d := kayenta.Duration(found[0])
	return &d
}

// stageStatus reports the stages of Kayenta's canary pipeline (one fetch
// stage per metric and side) as the analysis' status implies them.
func stageStatus(status string, metrics int, fetched bool) map[string]string {
	fetch, mix, judge := kayenta.StatusNotStarted, kayenta.StatusNotStarted, kayenta.StatusNotStarted
	switch status {
	case kayenta.StatusRunning:
		fetch = kayenta.StatusRunning
	case kayenta.StatusSucceeded:
		fetch, mix, judge = kayenta.StatusSucceeded, kayenta.StatusSucceeded, kayenta.StatusSucceeded
	case kayenta.StatusTerminal, kayenta.StatusCanceled:
		fetch, judge = status, status
		if fetched {
			fetch, mix = kayenta.StatusSucceeded, kayenta.StatusSucceeded
		}
	}
	setup := kayenta.StatusSucceeded
	if status == kayenta.StatusNotStarted {
		setup = kayenta.StatusNotStarted
	}
	out := map[string]string{stageSetup: setup, stageMix: mix, stageJudge: judge}
	for i := range metrics {
		out[stageControl+strconv.Itoa(i)] = fetch
		out[stageExperiment+strconv.Itoa(i)] = fetch
	}
	return out
}

// maxListed bounds how far GET /canary/executions reads: limit × page.
const maxListed = 10_000

// listExecutions lists an application's executions, newest first, as
// Kayenta's GET /canary/executions (Gate's /v2/canaries/{application}/
// executions, Deck's list): application (default "ad-hoc"), limit (default
// 20), page (1-based, default 1) and statuses (Orca's status names,
// comma-separated; default all).
func (h *handler) listExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	app := cmp.Or(q.Get("application"), adHoc)
	limit, err := positiveParam(q.Get("limit"), "limit", 20)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	page, err := positiveParam(q.Get("page"), "page", 1)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if limit > maxListed || page > maxListed/limit {
		fail(w, http.StatusBadRequest, "limit × page: at most %d executions are listed", maxListed)
		return
	}
	wanted, err := statusesParam(q.Get("statuses"))
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	skip := (page - 1) * limit
	out := []kayenta.ExecutionStatus{}
	token := ""
	for len(out) < limit {
		resp, err := h.Service.ListAnalyses(r.Context(), &judgev1.ListAnalysesRequest{Application: app, PageSize: 1000, PageToken: token})
		if err != nil {
			failStatus(w, err)
			return
		}
		for _, a := range resp.GetAnalyses() {
			if !wanted[a.GetStatus()] || len(out) == limit {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			full, err := h.Service.GetAnalysis(r.Context(), &judgev1.GetAnalysisRequest{Id: a.GetId()})
			if err != nil {
				continue // deleted meanwhile (retention)
			}
			out = append(out, h.status(full.GetAnalysis()))
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// positiveParam reads a positive integer query parameter, def when absent.
func positiveParam(v, name string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s: %.40q is not a positive integer", name, v)
	}
	return n, nil
}

// stateOf is judge's state of an analysis status: its name without the
// prefix, lower case (pending, running, succeeded, failed, canceled), as
// kayenta.StatusOf reads it.
func stateOf(s judgev1.AnalysisStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "ANALYSIS_STATUS_"))
}

// statusOfState is the analysis status of judge's state.
func statusOfState(state string) judgev1.AnalysisStatus {
	return judgev1.AnalysisStatus(judgev1.AnalysisStatus_value["ANALYSIS_STATUS_"+strings.ToUpper(state)])
}

// orcaOnly are Orca's other status names: accepted, and matching nothing.
var orcaOnly = []string{"PAUSED", "SUSPENDED", "FAILED_CONTINUE", "REDIRECT", "STOPPED", "BUFFERED", "SKIPPED"}

// statusesParam reads the statuses filter: every status when empty.
func statusesParam(v string) (map[judgev1.AnalysisStatus]bool, error) {
	out := map[judgev1.AnalysisStatus]bool{}
	if strings.TrimSpace(v) == "" {
		for _, state := range []string{"pending", "running", "succeeded", "failed", "canceled"} {
			out[statusOfState(state)] = true
		}
		return out, nil
	}
	for _, name := range strings.Split(v, ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		if state, ok := kayenta.StateOfOrca(name); ok {
			out[statusOfState(state)] = true
			continue
		}
		if name != "" && !slices.Contains(orcaOnly, name) {
			return nil, fmt.Errorf("statuses: %.40q is not an execution status (NOT_STARTED, RUNNING, SUCCEEDED, TERMINAL, CANCELED, …)", name)
		}
	}
	return out, nil
}

// metricSetPairList returns the series an execution judged, as Kayenta's
// MetricSetPairList: each pair with its id (the metric result's), the
// scopes' start and step and the rendered queries (attributes).
func (h *handler) metricSetPairList(w http.ResponseWriter, r *http.Request) {
	resp, err := h.Service.GetAnalysis(r.Context(), &judgev1.GetAnalysisRequest{Id: r.PathValue("id")})
	if err != nil {
		failStatus(w, err)
		return
	}
	series := resp.GetAnalysis().GetSeries()
	if len(series) == 0 {
		fail(w, http.StatusNotFound, "no metric set pair list for %s", r.PathValue("id"))
		return
	}
	pairs := make([]verdict.MetricSetPair, len(series))
	for i, p := range series {
		pair := verdict.MetricSetPair{Name: p.GetName(), ID: p.GetId(), Tags: p.GetTags(), Error: p.GetError(),
			Values:     verdict.PairValues{Control: p.GetControl(), Experiment: p.GetExperiment(), ControlHistory: p.GetControlHistory()},
			Scopes:     map[string]verdict.PairScope{},
			Attributes: map[string]map[string]string{"control": {}, "experiment": {}}}
		if pair.Tags == nil {
			pair.Tags = map[string]string{}
		}
		step := int64(p.GetStepSeconds() * 1000)
		for side, start := range map[string]int64{"control": p.GetControlStartMillis(), "experiment": p.GetExperimentStartMillis()} {
			sc := verdict.PairScope{StepMillis: step, StartTimeMillis: start}
			if start != 0 {
				sc.StartTimeIso = isoMillis(time.UnixMilli(start))
			}
			pair.Scopes[side] = sc
		}
		if q := p.GetControlQuery(); q != "" {
			pair.Attributes["control"]["query"] = q
		}
		if q := p.GetExperimentQuery(); q != "" {
			pair.Attributes["experiment"]["query"] = q
		}
		pairs[i] = pair
	}
	writeJSON(w, http.StatusOK, pairs)
}
