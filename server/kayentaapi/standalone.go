package kayentaapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
)

// StandaloneStore keeps standalone canary analyses; *store.Store
// implements it.
type StandaloneStore interface {
	CreateStandalone(ctx context.Context, request []byte) (store.Standalone, error)
	GetStandalone(ctx context.Context, id string) (store.Standalone, error)
	ClaimStandalone(ctx context.Context, owner string, lease time.Duration) (store.Standalone, error)
	UpdateStandalone(ctx context.Context, id, owner string, status store.Status, runs, result []byte, next time.Time) error
	CancelStandalone(ctx context.Context, id string, result []byte) (store.Standalone, error)
}

var _ StandaloneStore = (*store.Store)(nil)

// standaloneScope is one scope of Kayenta's CanaryAnalysisExecutionRequest.
type standaloneScope struct {
	ScopeName              string            `json:"scopeName"`
	ControlScope           string            `json:"controlScope"`
	ControlLocation        string            `json:"controlLocation"`
	ControlOffsetInMinutes int64             `json:"controlOffsetInMinutes"`
	ExperimentScope        string            `json:"experimentScope"`
	ExperimentLocation     string            `json:"experimentLocation"`
	StartTimeIso           string            `json:"startTimeIso"`
	EndTimeIso             string            `json:"endTimeIso"`
	Step                   int64             `json:"step"`
	ExtendedScopeParams    map[string]string `json:"extendedScopeParams"`
}

// standaloneRequest is Kayenta's CanaryAnalysisExecutionRequest, with what
// the path and query named (a stored config or an inline one, the metrics
// account) and the schedule worked out at submission.
type standaloneRequest struct {
	Scopes               []standaloneScope   `json:"scopes"`
	Thresholds           *verdict.Thresholds `json:"thresholds"`
	LifetimeDurationMins int64               `json:"lifetimeDurationMins"`
	BeginAfterMins       int64               `json:"beginAfterMins"`
	LookbackMins         int64               `json:"lookbackMins"`
	AnalysisIntervalMins int64               `json:"analysisIntervalMins"`

	ConfigID       string          `json:"configId,omitempty"`
	CanaryConfig   json.RawMessage `json:"canaryConfig,omitempty"`
	MetricsAccount string          `json:"metricsAccount,omitempty"`
	// What the query named, as Kayenta keeps it: the user (default
	// "anonymous"), the application (default "ad-hoc"), the parent
	// pipeline and the account names.
	User                      string        `json:"user,omitempty"`
	Application               string        `json:"application,omitempty"`
	ParentPipelineExecutionID string        `json:"parentPipelineExecutionId,omitempty"`
	StorageAccountName        string        `json:"storageAccountName,omitempty"`
	ConfigurationAccountName  string        `json:"configurationAccountName,omitempty"`
	Start                     time.Time     `json:"start"`
	Interval                  time.Duration `json:"interval"`
	Runs                      int           `json:"runs"`
}

// standaloneRun is one analysis of a standalone canary analysis, as
// Kayenta's CanaryExecutionResult. The run's result, pair list and times
// are read from its analysis when reported (runDetails), not stored.
type standaloneRun struct {
	ExecutionID              string  `json:"executionId"`
	ExecutionStatus          string  `json:"executionStatus"`
	Score                    float64 `json:"score"`
	Classification           string  `json:"classification"`
	JudgementStartTimeIso    string  `json:"judgementStartTimeIso"`
	JudgementStartTimeMillis int64   `json:"judgementStartTimeMillis,omitempty"`
	JudgementEndTimeIso      string  `json:"judgementEndTimeIso"`
	JudgementEndTimeMillis   int64   `json:"judgementEndTimeMillis,omitempty"`

	Warnings            []string                 `json:"warnings"`
	Result              *kayenta.ExecutionResult `json:"result,omitempty"`
	Exception           map[string]any           `json:"exception,omitempty"`
	MetricSetPairListID string                   `json:"metricSetPairListId,omitempty"`
	BuildTimeMillis     int64                    `json:"buildTimeMillis,omitempty"`
	BuildTimeIso        string                   `json:"buildTimeIso,omitempty"`
	StartTimeMillis     int64                    `json:"startTimeMillis,omitempty"`
	StartTimeIso        string                   `json:"startTimeIso,omitempty"`
	EndTimeMillis       int64                    `json:"endTimeMillis,omitempty"`
	EndTimeIso          string                   `json:"endTimeIso,omitempty"`
	StorageAccountName  string                   `json:"storageAccountName,omitempty"`
}

// standaloneResult is Kayenta's CanaryAnalysisExecutionResult.
type standaloneResult struct {
	DidPassThresholds      bool            `json:"didPassThresholds"`
	HasWarnings            bool            `json:"hasWarnings"`
	CanaryScoreMessage     string          `json:"canaryScoreMessage"`
	CanaryScores           []float64       `json:"canaryScores"`
	CanaryExecutionResults []standaloneRun `json:"canaryExecutionResults"`
	BuildTimeIso           string          `json:"buildTimeIso,omitempty"`
	StartTimeIso           string          `json:"startTimeIso,omitempty"`
	EndTimeIso             string          `json:"endTimeIso,omitempty"`
}

// defaultStep is the step (seconds) of a standalone scope that names none,
// as Kayenta's CanaryAnalysisExecutionRequestScope defaults it.
const defaultStep = 60

// maxStandaloneRuns bounds the analyses of one standalone analysis.
const maxStandaloneRuns = 200

// maxMinutes bounds every duration of a request given in minutes (a
// year); each is checked before any arithmetic, so none overflows.
const maxMinutes = 366 * 24 * 60

// plan checks a request and works out its schedule: runs every interval
// over the lifetime, starting at startTimeIso (or now plus beginAfterMins).
func (r *standaloneRequest) plan(now time.Time) error {
	if len(r.Scopes) == 0 {
		return errors.New("scopes: at least one scope is required")
	}
	for i := range r.Scopes {
		s := &r.Scopes[i]
		if s.ControlScope == "" || s.ExperimentScope == "" {
			return fmt.Errorf("scopes[%d]: controlScope and experimentScope are required", i)
		}
		if s.Step == 0 {
			s.Step = defaultStep // Kayenta's default
		}
		if s.Step <= 0 || s.Step > analysis.MaxStepSeconds {
			return fmt.Errorf("scopes[%d].step: %d; want a number of seconds from 1 to %d", i, s.Step, analysis.MaxStepSeconds)
		}
		if s.ControlOffsetInMinutes < 0 || s.ControlOffsetInMinutes > maxMinutes {
			return fmt.Errorf("scopes[%d].controlOffsetInMinutes: %d; want 0 to %d", i, s.ControlOffsetInMinutes, maxMinutes)
		}
	}
	for _, f := range []struct {
		name  string
		value int64
	}{{"lifetimeDurationMins", r.LifetimeDurationMins}, {"beginAfterMins", r.BeginAfterMins}, {"lookbackMins", r.LookbackMins},
		{"analysisIntervalMins", r.AnalysisIntervalMins}} {
		if f.value < 0 || f.value > maxMinutes {
			return fmt.Errorf("%s: %d; want 0 to %d minutes", f.name, f.value, maxMinutes)
		}
	}
	first := r.Scopes[0]
	r.Start = now.Add(time.Duration(r.BeginAfterMins) * time.Minute)
	if first.StartTimeIso != "" {
		t, err := time.Parse(time.RFC3339, first.StartTimeIso)
		if err != nil {
			return fmt.Errorf("scopes[0].startTimeIso: %q is not an ISO-8601 time", first.StartTimeIso)
		}
		r.Start = t
	}
	lifetime := time.Duration(r.LifetimeDurationMins) * time.Minute
	if lifetime == 0 && first.EndTimeIso != "" {
		end, err := time.Parse(time.RFC3339, first.EndTimeIso)
		if err != nil {
			return fmt.Errorf("scopes[0].endTimeIso: %q is not an ISO-8601 time", first.EndTimeIso)
		}
		lifetime = end.Sub(r.Start)
		if lifetime > maxMinutes*time.Minute {
			return fmt.Errorf("scopes[0].endTimeIso: %q is more than %d minutes after the start", first.EndTimeIso, maxMinutes)
		}
	}
	if lifetime <= 0 {
		return errors.New("lifetimeDurationMins (or endTimeIso after startTimeIso) is required")
	}
	r.Interval = time.Duration(r.AnalysisIntervalMins) * time.Minute
	if r.Interval <= 0 || r.Interval > lifetime {
		r.Interval = lifetime
	}
	r.Runs = int(lifetime / r.Interval)
	if r.Runs > maxStandaloneRuns {
		return fmt.Errorf("lifetimeDurationMins / analysisIntervalMins = %d runs, more than %d", r.Runs, maxStandaloneRuns)
	}
	if _, err := verdict.RequestThresholds(r.Thresholds); err != nil {
		return fmt.Errorf("thresholds.%w", err)
	}
	return nil
}

// window is the k-th run's window (1-based): growing from the start, or
// the last lookbackMins.
func (r *standaloneRequest) window(k int) (start, end time.Time) {
	end = r.Start.Add(time.Duration(k) * r.Interval)
	start = r.Start
	if r.LookbackMins > 0 {
		start = end.Add(-time.Duration(r.LookbackMins) * time.Minute)
	}
	return start, end
}

// spec is the k-th run's analysis.
func (r *standaloneRequest) spec(k int) (*judgev1.AnalysisSpec, error) {
	start, end := r.window(k)
	s := &judgev1.AnalysisSpec{Scopes: map[string]*judgev1.ScopePair{}, MetricsAccount: r.MetricsAccount, Application: r.Application,
		Annotations: map[string]string{}}
	if r.ConfigID != "" {
		s.Annotations[annotationConfigID] = r.ConfigID
	}
	if r.StorageAccountName != "" {
		s.Annotations[annotationStorage] = r.StorageAccountName
	}
	for _, sc := range r.Scopes {
		name := sc.ScopeName
		if name == "" {
			name = "default"
		}
		offset := time.Duration(sc.ControlOffsetInMinutes) * time.Minute
		s.Scopes[name] = protoconv.PairToProto(analysis.ScopePair{
			Control: &analysis.Scope{Scope: sc.ControlScope, Location: sc.ControlLocation, Start: start.Add(-offset), End: end.Add(-offset),
				Step: sc.Step, ExtendedScopeParams: sc.ExtendedScopeParams},
			Experiment: &analysis.Scope{Scope: sc.ExperimentScope, Location: sc.ExperimentLocation, Start: start, End: end,
				Step: sc.Step, ExtendedScopeParams: sc.ExtendedScopeParams},
		})
	}
	if t := r.Thresholds; t != nil {
		s.Thresholds = &judgev1.Thresholds{Pass: t.Pass, Marginal: t.Marginal}
	}
	if r.Runs > 1 {
		// Run k of a planned sequence: its share of the level, so that an
		// unchanged canary is failed at no run more often than the level.
		s.Look, s.Looks = int32(k), int32(r.Runs) //nolint:gosec // at most maxStandaloneRuns
	}
	if r.ConfigID != "" {
		s.Config = &judgev1.AnalysisSpec_CanaryConfigName{CanaryConfigName: r.ConfigID}
	} else {
		cfg, err := toStruct(r.CanaryConfig)
		if err != nil {
			return nil, err
		}
		s.Config = &judgev1.AnalysisSpec_CanaryConfig{CanaryConfig: cfg}
	}
	return s, nil
}

// startStandalone accepts a standalone canary analysis: it checks the
// request and its first analysis (config, scopes) at once, stores it and
// answers {"canaryAnalysisExecutionId"}; the scheduler runs it.
func (h *handler) startStandalone(w http.ResponseWriter, r *http.Request) {
	if h.Standalone == nil {
		fail(w, http.StatusServiceUnavailable, "standalone canary analysis is not available on this server")
		return
	}
	raw, ok := h.readBody(w, r)
	if !ok {
		return
	}
	var req standaloneRequest
	if id := r.PathValue("configId"); id != "" {
		if err := json.Unmarshal(raw, &req); err != nil {
			fail(w, http.StatusBadRequest, "the body must be a CanaryAnalysisExecutionRequest: %s", verdict.JSONErrorText(err))
			return
		}
		req.ConfigID = id
	} else {
		var body struct {
			CanaryConfig     json.RawMessage    `json:"canaryConfig"`
			ExecutionRequest *standaloneRequest `json:"executionRequest"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			fail(w, http.StatusBadRequest, "the body must be {canaryConfig, executionRequest}: %s", verdict.JSONErrorText(err))
			return
		}
		if len(body.CanaryConfig) == 0 || body.ExecutionRequest == nil {
			fail(w, http.StatusBadRequest, "canaryConfig and executionRequest are both required")
			return
		}
		req = *body.ExecutionRequest
		req.CanaryConfig = body.CanaryConfig
	}
	q := r.URL.Query()
	req.MetricsAccount = q.Get("metricsAccountName")
	req.User, req.Application = cmp.Or(q.Get("user"), "anonymous"), cmp.Or(q.Get("application"), adHoc)
	req.ParentPipelineExecutionID = q.Get("parentPipelineExecutionId")
	req.StorageAccountName, req.ConfigurationAccountName = q.Get("storageAccountName"), q.Get("configurationAccountName")
	if err := req.plan(time.Now()); err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	// Submitting the first analysis' spec for validation refuses a bad
	// config or scope now rather than at the first run.
	first, err := req.spec(1)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if err := h.check(r.Context(), first); err != nil {
		failStatus(w, err)
		return
	}
	b, err := json.Marshal(req)
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	a, err := h.Standalone.CreateStandalone(r.Context(), b)
	if err != nil {
		failStatus(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"canaryAnalysisExecutionId": a.ID})
}

// check validates a spec the way CreateAnalysis would, without storing it.
func (h *handler) check(ctx context.Context, spec *judgev1.AnalysisSpec) error {
	if h.Validate == nil {
		return nil
	}
	return h.Validate(ctx, spec)
}

// standaloneStatus reports a standalone canary analysis as Kayenta's
// CanaryAnalysisExecutionStatusResponse.
func (h *handler) standaloneStatus(w http.ResponseWriter, r *http.Request) {
	if h.Standalone == nil {
		fail(w, http.StatusServiceUnavailable, "standalone canary analysis is not available on this server")
		return
	}
	a, err := h.Standalone.GetStandalone(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		fail(w, http.StatusNotFound, "standalone canary analysis %q not found", r.PathValue("id"))
		return
	}
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	var (
		runs []standaloneRun
		req  standaloneRequest
	)
	_ = json.Unmarshal(a.Runs, &runs)
	_ = json.Unmarshal(a.Request, &req)
	runs = h.runDetails(r.Context(), runs)
	stages := []map[string]any{}
	for i, run := range runs {
		stages = append(stages, map[string]any{"type": "runCanary", "name": fmt.Sprintf("Run Canary #%d", i+1),
			"status": run.ExecutionStatus, "executionId": run.ExecutionID})
	}
	out := map[string]any{
		"canaryAnalysisExecutionId": a.ID,
		"pipelineId":                a.ID,
		"application":               cmp.Or(req.Application, adHoc),
		"user":                      cmp.Or(req.User, "anonymous"),
		"complete":                  a.Status.Final(),
		"executionStatus":           kayenta.OrcaStatus(string(a.Status)),
		"stageStatus":               stages,
		"buildTimeMillis":           a.CreatedAt.UnixMilli(),
		"buildTimeIso":              isoMillis(a.CreatedAt),
		"startTimeMillis":           a.CreatedAt.UnixMilli(),
		"startTimeIso":              isoMillis(a.CreatedAt),
		"canaryExecutionResults":    nonNilRuns(runs),
		"metricsAccountName":        h.metricsAccount(req.MetricsAccount),
		"storageAccountName":        req.StorageAccountName,
		"canaryAnalysisExecutionRequest": map[string]any{"scopes": req.Scopes, "thresholds": req.Thresholds,
			"lifetimeDurationMins": req.LifetimeDurationMins, "beginAfterMins": req.BeginAfterMins, "lookbackMins": req.LookbackMins,
			"analysisIntervalMins": req.AnalysisIntervalMins},
	}
	if req.ConfigID != "" {
		out["canaryConfigId"] = req.ConfigID
	}
	if req.ParentPipelineExecutionID != "" {
		out["parentPipelineExecutionId"] = req.ParentPipelineExecutionID
	}
	out["status"] = kayenta.StatusOf(string(a.Status))
	if a.Result != nil {
		var res standaloneResult
		_ = json.Unmarshal(a.Result, &res)
		res.CanaryExecutionResults = nonNilRuns(runs)
		res.BuildTimeIso, res.StartTimeIso, res.EndTimeIso = isoMillis(a.CreatedAt), isoMillis(a.CreatedAt), isoMillis(a.UpdatedAt)
		out["canaryAnalysisExecutionResult"] = res
		out["endTimeMillis"], out["endTimeIso"] = a.UpdatedAt.UnixMilli(), isoMillis(a.UpdatedAt)
	}
	writeJSON(w, http.StatusOK, out)
}

// runDetails fills each run with what Kayenta's CanaryExecutionResult
// reports, read from the run's analysis: the judge result and canary
// duration, the metric set pair list, warnings and times. A run whose
// analysis is gone (retention) keeps what was stored.
func (h *handler) runDetails(ctx context.Context, runs []standaloneRun) []standaloneRun {
	for i := range runs {
		run := &runs[i]
		run.Warnings = []string{}
		if start, err := time.Parse(time.RFC3339, run.JudgementStartTimeIso); err == nil {
			run.JudgementStartTimeMillis = start.UnixMilli()
		}
		if end, err := time.Parse(time.RFC3339, run.JudgementEndTimeIso); err == nil {
			run.JudgementEndTimeMillis = end.UnixMilli()
		}
		if run.ExecutionID == "" {
			continue
		}
		resp, err := h.Service.GetAnalysis(ctx, &judgev1.GetAnalysisRequest{Id: run.ExecutionID})
		if err != nil {
			continue
		}
		st := h.status(resp.GetAnalysis())
		run.MetricSetPairListID, run.StorageAccountName = st.MetricSetPairListID, st.StorageAccountName
		run.BuildTimeMillis, run.BuildTimeIso = st.BuildTimeMillis, st.BuildTimeIso
		run.StartTimeMillis, run.StartTimeIso = st.StartTimeMillis, st.StartTimeIso
		run.EndTimeMillis, run.EndTimeIso = st.EndTimeMillis, st.EndTimeIso
		run.Result, run.Exception = st.Result, st.Exception
		if st.Result != nil {
			run.Warnings = append(run.Warnings, resp.GetAnalysis().GetVerdict().GetWarnings()...)
		}
	}
	return runs
}

func nonNilRuns(r []standaloneRun) []standaloneRun {
	if r == nil {
		return []standaloneRun{}
	}
	return r
}

// Scheduler drives standalone canary analyses: any replica's scheduler
// claims one that is due (under a lease, as workers claim analyses), starts
// its next analysis when that analysis' window has ended, reads the score
// when it is done, and ends the whole early when a run scores at or below
// the marginal threshold or with the last run's judgement.
type Scheduler struct {
	Store   StandaloneStore
	Service judgev1.JudgeServiceServer
	Owner   string
	Poll    time.Duration
	Log     *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Run schedules until ctx is done.
func (s *Scheduler) Run(ctx context.Context) {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	claims := analysis.Claims[store.Standalone]{
		Claim: func(ctx context.Context) (store.Standalone, error) {
			return s.Store.ClaimStandalone(ctx, s.Owner, time.Minute)
		},
		Handle: func(a store.Standalone) { s.step(ctx, a, now()) },
		Poll:   s.Poll, Log: s.Log, What: "standalone analysis",
	}
	claims.Run(ctx)
}

// step advances one claimed standalone analysis and releases it.
func (s *Scheduler) step(ctx context.Context, a store.Standalone, now time.Time) {
	var req standaloneRequest
	var runs []standaloneRun
	if json.Unmarshal(a.Request, &req) != nil || json.Unmarshal(a.Runs, &runs) != nil {
		s.finish(ctx, a, runs, false, "the stored request is unreadable")
		return
	}
	update := func(next time.Time) {
		b, _ := json.Marshal(runs)
		s.logUpdate(a.ID, s.Store.UpdateStandalone(ctx, a.ID, s.Owner, store.StatusRunning, b, nil, next))
	}
	if n := len(runs); n > 0 && runs[n-1].ExecutionStatus == kayentaStatusRunning {
		last := &runs[n-1]
		resp, err := s.Service.GetAnalysis(ctx, &judgev1.GetAnalysisRequest{Id: last.ExecutionID})
		switch code := status.Code(err); {
		case err == nil:
		case code == codes.Unavailable, code == codes.DeadlineExceeded, code == codes.Canceled:
			// The database is down (or we are stopping): look again later.
			update(now.Add(analysis.RetryDelay(s.Poll)))
			return
		default:
			// The run's analysis is gone or cannot be read back: the
			// analysis cannot go on, and it must not pass.
			last.ExecutionStatus = kayenta.OrcaStatus("failed")
			s.finish(ctx, a, runs, false, fmt.Sprintf("analysis %s of run %d cannot be read: %s", last.ExecutionID, n, status.Convert(err).Message()))
			return
		}
		an := resp.GetAnalysis()
		switch an.GetStatus() {
		case judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED:
			v := an.GetVerdict()
			last.ExecutionStatus, last.Score, last.Classification = kayenta.OrcaStatus(stateOf(an.GetStatus())), v.GetScore(), v.GetResult()
		case judgev1.AnalysisStatus_ANALYSIS_STATUS_FAILED, judgev1.AnalysisStatus_ANALYSIS_STATUS_CANCELED:
			last.ExecutionStatus = kayenta.OrcaStatus("failed")
			s.finish(ctx, a, runs, false, fmt.Sprintf("analysis %s of run %d did not finish: %s", last.ExecutionID, n, an.GetError()))
			return
		default:
			update(now.Add(s.Poll))
			return
		}
		if done, passed, msg := judgeRun(an.GetVerdict(), n, req.Runs); done {
			s.finish(ctx, a, runs, passed, msg)
			return
		}
	}
	k := len(runs) + 1
	start, end := req.window(k)
	if end.After(now) {
		update(end) // the window's data is not all there yet
		return
	}
	spec, err := req.spec(k)
	if err != nil {
		s.finish(ctx, a, runs, false, err.Error())
		return
	}
	created, err := s.Service.CreateAnalysis(ctx, &judgev1.CreateAnalysisRequest{Spec: spec})
	if err != nil {
		s.finish(ctx, a, runs, false, fmt.Sprintf("run %d could not start: %v", k, err))
		return
	}
	runs = append(runs, standaloneRun{ExecutionID: created.GetAnalysis().GetId(), ExecutionStatus: kayentaStatusRunning,
		JudgementStartTimeIso: start.UTC().Format(time.RFC3339), JudgementEndTimeIso: end.UTC().Format(time.RFC3339)})
	update(now.Add(s.Poll))
}

// kayentaStatusRunning is a run's status while its analysis runs.
var kayentaStatusRunning = kayenta.OrcaStatus("running")

// judgeRun decides a standalone analysis on its n-th finished run (of
// runs) by that run's verdict, never by re-reading its score: the verdict
// was reached with the request's thresholds when it gave them, else the
// config's, and a critical metric can fail it at any score. A FAIL (or a
// result judge does not know) ends the analysis failed at once, as Kayenta
// stops at a score at or below the marginal threshold; the last run passes
// the analysis only when it is PASS, so a MARGINAL or FAIL run never
// promotes a canary.
func judgeRun(v *judgev1.Verdict, n, runs int) (done, passed bool, message string) {
	t := v.GetThresholds()
	describe := fmt.Sprintf("%s, canary score %.2f (pass %g, marginal %g): %s", v.GetResult(), v.GetScore(), t.GetPass(), t.GetMarginal(), v.GetReason())
	switch result := verdict.Outcome(v.GetResult()); {
	case result == verdict.ResultFail && n < runs && !established(v):
		// At its share of the level this run could not establish a
		// regression (a metric it cannot judge yet): the next run, with
		// more data and more of the level, decides.
		return false, false, ""
	case result != verdict.ResultPass && result != verdict.ResultMarginal:
		return true, false, fmt.Sprintf("Run %d of %d is %s", n, runs, describe)
	case n < runs:
		return false, false, ""
	case result == verdict.ResultPass:
		return true, true, fmt.Sprintf("Final run %d is %s", n, describe)
	default:
		return true, false, fmt.Sprintf("Final run %d is %s; only PASS passes", n, describe)
	}
}

// established reports whether a verdict established what fails a canary
// before its last run: a metric significantly higher or lower, or one that
// could not be fetched or judged (ERROR). INCONCLUSIVE and NODATA metrics
// wait for the next run.
func established(v *judgev1.Verdict) bool {
	for _, m := range v.GetMetrics() {
		switch verdict.Classification(m.GetClassification()) {
		case verdict.High, verdict.Low, verdict.Error:
			return true
		}
	}
	return false
}

// finish records the final judgement: succeeded when the thresholds were
// met, Kayenta's TERMINAL (failed) otherwise.
func (s *Scheduler) finish(ctx context.Context, a store.Standalone, runs []standaloneRun, passed bool, message string) {
	res := standaloneResult{DidPassThresholds: passed, CanaryScoreMessage: message, CanaryScores: []float64{}, CanaryExecutionResults: nonNilRuns(runs)}
	for _, r := range runs {
		if r.ExecutionStatus == kayenta.OrcaStatus("succeeded") {
			res.CanaryScores = append(res.CanaryScores, r.Score)
		}
	}
	status := store.StatusSucceeded
	if !passed {
		status = store.StatusFailed
	}
	rb, _ := json.Marshal(runs)
	resb, _ := json.Marshal(res)
	s.logUpdate(a.ID, s.Store.UpdateStandalone(ctx, a.ID, s.Owner, status, rb, resb, time.Now()))
}

// logUpdate logs a failed update of a standalone analysis: at INFO when it
// was cancelled meanwhile (its scheduler just stops), else as a warning.
func (s *Scheduler) logUpdate(id string, err error) {
	switch {
	case err == nil:
	case errors.Is(err, store.ErrLeaseLost):
		s.Log.Info("standalone analysis cancelled or taken over; this scheduler stops on it", "id", id)
	default:
		s.Log.Warn("update standalone analysis", "id", id, "err", err)
	}
}

// cancelPipeline cancels a standalone canary analysis or a canary
// execution by its id, as Kayenta's PUT /pipelines/{executionId}/cancel
// (both are Orca pipelines there): 202, and the analysis ends CANCELED,
// never passed; its scheduler stops at its next step, and the run it had
// started is cancelled too.
func (h *handler) cancelPipeline(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if h.Standalone != nil {
		a, err := h.Standalone.GetStandalone(r.Context(), id)
		switch {
		case err == nil:
			var runs []standaloneRun
			_ = json.Unmarshal(a.Runs, &runs)
			res, _ := json.Marshal(standaloneResult{CanaryScoreMessage: "Canceled.", CanaryScores: []float64{}, CanaryExecutionResults: nonNilRuns(runs)})
			if _, err := h.Standalone.CancelStandalone(r.Context(), id, res); err != nil {
				fail(w, http.StatusServiceUnavailable, "database unavailable")
				return
			}
			if n := len(runs); n > 0 && runs[n-1].ExecutionStatus == kayentaStatusRunning {
				_, _ = h.Service.CancelAnalysis(r.Context(), &judgev1.CancelAnalysisRequest{Id: runs[n-1].ExecutionID})
			}
			w.WriteHeader(http.StatusAccepted)
			return
		case !errors.Is(err, store.ErrNotFound):
			fail(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
	}
	if _, err := h.Service.CancelAnalysis(r.Context(), &judgev1.CancelAnalysisRequest{Id: id}); err != nil {
		failStatus(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
