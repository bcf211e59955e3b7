package server

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/report"
	"github.com/canaryjudge/judge/server/httpreply"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
	"github.com/canaryjudge/judge/version"
)

//go:embed ui/*.html.tmpl
var uiTemplates embed.FS

var uiPages = template.Must(template.New("ui").Funcs(template.FuncMap{
	"time":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"percent": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"sub":     func(a, b int64) int64 { return a - b },
	"build":   func() string { return version.Get().String() },
	"page": func(title string, refresh bool) any {
		return struct {
			Title   string
			Refresh bool
		}{title, refresh}
	},
}).ParseFS(uiTemplates, "ui/*.html.tmpl"))

// uiPageSize is the number of analyses per page of the list.
const uiPageSize = 50

// uiCookie holds the token of a browser that logged in to the web UI.
const uiCookie = "judge_token"

// uiHandler serves the web UI under /ui/: analyses (filtered, newest
// first, paginated), an analysis (its report, refreshing while it runs),
// and the stored canary configs. Pages are rendered on the server with no
// script; everything from a config, scope or series is escaped.
func (s *Service) uiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/{$}", s.uiAnalyses)
	mux.HandleFunc("GET /ui/analyses/{id}", s.uiAnalysis)
	mux.HandleFunc("POST /ui/analyses/{id}/label", s.uiLabel)
	mux.HandleFunc("GET /ui/configs/{$}", s.uiConfigs)
	mux.HandleFunc("GET /ui/configs/{name}", s.uiConfig)
	mux.HandleFunc("GET /ui/sequences/{name...}", s.uiSequence)
	return mux
}

// uiSequence shows a page of a sequence's looks (store.MaxLookPage at a
// time, ?page=look:N continues): each metric's intervals over the looks and
// every look's verdict.
func (s *Service) uiSequence(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	seq, err := s.GetSequence(r.Context(), &judgev1.GetSequenceRequest{Sequence: name, PageToken: r.URL.Query().Get("page")})
	if err != nil {
		s.uiFail(w, "get sequence", err)
		return
	}
	view := report.Sequence{Name: seq.GetSequence(), Looks: int(seq.GetLooks()), State: seq.GetState(), Reason: seq.GetReason()}
	for _, l := range seq.GetHistory() {
		lv := report.Look{Look: int(l.GetLook()), At: l.GetTime().AsTime()}
		if l.GetAnalysisId() != "" {
			lv.ReportURL = "/ui/analyses/" + url.PathEscape(l.GetAnalysisId())
		}
		if v := l.GetVerdict(); v != nil {
			lv.Result = protoconv.VerdictFromProto(v)
			lv.Level, lv.Spent, lv.Decision = v.GetLook().GetLevel(), v.GetLook().GetSpent(), v.GetLook().GetDecision()
		}
		view.History = append(view.History, lv)
	}
	links := []report.Link{{Text: "← analyses", URL: "/ui/"}}
	if next := seq.GetNextPageToken(); next != "" {
		links = append(links, report.Link{Text: "later looks →", URL: "/ui/sequences/" + url.PathEscape(seq.GetSequence()) + "?" + url.Values{"page": {next}}.Encode()})
	}
	var buf bytes.Buffer
	if err := report.SequencePage(&buf, "Sequence "+seq.GetSequence(), view, links...); err != nil {
		s.log.Error("ui: render sequence", "sequence", seq.GetSequence(), "err", err)
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	uiHeaders(w)
	_, _ = w.Write(buf.Bytes())
}

type uiRow struct {
	ID, Status, ConfigName, Error string
	// Final: no worker will change the status again.
	Final     bool
	CreatedAt time.Time
	Attempts  int32
	Result    string
	Score     *float64
	// ConfigTitle is the name the analysis' stored config gives itself
	// (configTitle), or its stored name.
	ConfigTitle string
}

// uiRowOf is what the UI shows of an analysis the service returned.
func uiRowOf(a *judgev1.Analysis) uiRow {
	st := statusFromProto[a.GetStatus()]
	row := uiRow{ID: a.GetId(), Status: string(st), Final: st.Final(), ConfigName: a.GetCanaryConfigName(), Error: a.GetError(),
		CreatedAt: a.GetCreateTime().AsTime(), Attempts: a.GetAttempts(), ConfigTitle: a.GetCanaryConfigName()}
	if v := a.GetVerdict(); v != nil {
		row.Result, row.Score = v.GetResult(), new(v.GetScore())
	}
	return row
}

// uiFail shows what the service answered, as the API answers it: its
// status and message (an unexpected error is logged and reads "internal
// error").
func (s *Service) uiFail(w http.ResponseWriter, op string, err error) {
	code, msg := httpreply.Status(w, err)
	if code == http.StatusInternalServerError {
		s.log.Error("ui: "+op, "err", err)
	}
	uiError(w, code, msg)
}

func (s *Service) uiAnalyses(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, config, result := q.Get("status"), q.Get("config"), strings.ToUpper(q.Get("result"))
	req := &judgev1.ListAnalysesRequest{CanaryConfigName: config, PageSize: uiPageSize, PageToken: q.Get("page")}
	if status != "" {
		st, ok := statusToProto[store.Status(status)]
		if !ok {
			uiError(w, http.StatusBadRequest, fmt.Sprintf("status %q: want pending, running, succeeded, failed or canceled", status))
			return
		}
		req.Status = st
	}
	switch verdict.Outcome(result) {
	case "", verdict.ResultPass, verdict.ResultMarginal, verdict.ResultFail:
	default:
		uiError(w, http.StatusBadRequest, fmt.Sprintf("result %q: want PASS, MARGINAL or FAIL", result))
		return
	}
	list, err := s.ListAnalyses(r.Context(), req)
	if err != nil {
		s.uiFail(w, "list analyses", err)
		return
	}
	var rows []uiRow
	titles := map[string]string{}
	for _, a := range list.GetAnalyses() {
		row := uiRowOf(a)
		if name := a.GetCanaryConfigName(); name != "" {
			if _, seen := titles[name]; !seen {
				titles[name] = name
				if c, err := s.GetCanaryConfig(r.Context(), &judgev1.GetCanaryConfigRequest{Name: name}); err == nil {
					titles[name] = configTitle(c.GetCanaryConfig())
				}
			}
			row.ConfigTitle = titles[name]
		}
		if result != "" && row.Result != result {
			continue
		}
		rows = append(rows, row)
	}
	nextURL := ""
	if next := list.GetNextPageToken(); next != "" {
		v := url.Values{"page": {next}}
		for _, k := range []string{"status", "config", "result"} {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		nextURL = "/ui/?" + v.Encode()
	}
	uiRender(w, "analyses.html.tmpl", struct {
		Status, Config, Result string
		Rows                   []uiRow
		Next                   string
	}{status, config, result, rows, nextURL})
}

func (s *Service) uiAnalysis(w http.ResponseWriter, r *http.Request) {
	resp, err := s.GetAnalysis(r.Context(), &judgev1.GetAnalysisRequest{Id: r.PathValue("id")})
	if err != nil {
		s.uiFail(w, "get analysis", err)
		return
	}
	a := resp.GetAnalysis()
	v := a.GetVerdict()
	if a.GetStatus() != judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED || v == nil {
		uiRender(w, "analysis.html.tmpl", uiRowOf(a))
		return
	}
	pairs := protoconv.PairsFromProto(a.GetSeries())
	if len(a.GetSeries()) == 0 {
		pairs = protoconv.PairsFromProto(a.GetSpec().GetMetrics())
	}
	var buf bytes.Buffer
	links := []report.Link{{Text: "← analyses", URL: "/ui/"}}
	if name := a.GetCanaryConfigName(); name != "" {
		links = append(links, report.Link{Text: "config " + name, URL: "/ui/configs/" + url.PathEscape(name)})
	}
	if name := v.GetLook().GetSequence(); name != "" {
		links = append(links, report.Link{Text: fmt.Sprintf("sequence %s (look %d)", name, v.GetLook().GetLook()), URL: "/ui/sequences/" + url.PathEscape(name)})
	}
	if l := v.GetLook(); l.GetDecision() == "continue" && v.GetResult() != "FAIL" {
		links = append(links, report.Link{Text: fmt.Sprintf("— no decision yet: look %d found no regression established (the result below is this look alone); a later look decides", l.GetLook())})
	}
	links = append(links, scopeLinks(a.GetSpec())...)
	links = append(links, labelLinks(a)...)
	for _, sh := range v.GetShadows() {
		text := fmt.Sprintf("— shadow %s: %s %.0f", sh.GetShadow(), sh.GetResult(), sh.GetScore())
		switch {
		case sh.GetError() != "":
			text = fmt.Sprintf("— shadow %s could not judge: %s", sh.GetShadow(), sh.GetError())
		case sh.GetResult() != v.GetResult():
			text += " (would have decided otherwise; not enforced)"
		}
		links = append(links, report.Link{Text: text})
	}
	if err := report.Analysis(&buf, "Analysis "+a.GetId(), protoconv.VerdictFromProto(v), pairs, links...); err != nil {
		s.log.Error("ui: render report", "id", a.GetId(), "err", err)
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	uiHeaders(w)
	_, _ = w.Write(buf.Bytes())
}

func (s *Service) uiConfigs(w http.ResponseWriter, r *http.Request) {
	list, err := s.ListCanaryConfigs(r.Context(), &judgev1.ListCanaryConfigsRequest{PageSize: uiPageSize, PageToken: r.URL.Query().Get("page")})
	if err != nil {
		s.uiFail(w, "list configs", err)
		return
	}
	nextURL := ""
	if next := list.GetNextPageToken(); next != "" {
		nextURL = "/ui/configs/?" + url.Values{"page": {next}}.Encode()
	}
	type row struct {
		uiConfigVersion
		Title string
	}
	rows := make([]row, len(list.GetCanaryConfigs()))
	for i, c := range list.GetCanaryConfigs() {
		// A list carries no bodies: the name a config gives itself is read
		// from each (a page holds at most uiPageSize).
		if full, err := s.GetCanaryConfig(r.Context(), &judgev1.GetCanaryConfigRequest{Name: c.GetName()}); err == nil {
			c = full.GetCanaryConfig()
		}
		rows[i] = row{configVersionOf(c), configTitle(c)}
	}
	uiRender(w, "configs.html.tmpl", struct {
		Configs []row
		Next    string
	}{rows, nextURL})
}

func (s *Service) uiConfig(w http.ResponseWriter, r *http.Request) {
	resp, err := s.ListCanaryConfigVersions(r.Context(), &judgev1.ListCanaryConfigVersionsRequest{Name: r.PathValue("name")})
	if err != nil {
		s.uiFail(w, "config versions", err)
		return
	}
	versions := make([]uiConfigVersion, len(resp.GetVersions()))
	for i, c := range resp.GetVersions() {
		versions[i] = configVersionOf(c)
	}
	if len(versions) == 0 {
		uiError(w, http.StatusNotFound, "no canary config "+r.PathValue("name"))
		return
	}
	pick := func(param string, def uiConfigVersion) (uiConfigVersion, bool) {
		v := r.URL.Query().Get(param)
		if v == "" {
			return def, true
		}
		for _, c := range versions {
			if fmt.Sprint(c.Version) == v {
				return c, true
			}
		}
		return uiConfigVersion{}, false
	}
	shown, ok := pick("version", versions[0])
	if !ok {
		uiError(w, http.StatusNotFound, fmt.Sprintf("config %s has no version %q", r.PathValue("name"), r.URL.Query().Get("version")))
		return
	}
	var diff string
	if r.URL.Query().Has("from") {
		from, okFrom := pick("from", versions[min(1, len(versions)-1)])
		to, okTo := pick("to", versions[0])
		if !okFrom || !okTo {
			uiError(w, http.StatusNotFound, "no such version to compare")
			return
		}
		diff, err = difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(prettyJSON(from.Body)), B: difflib.SplitLines(prettyJSON(to.Body)),
			FromFile: fmt.Sprintf("version %d", from.Version), ToFile: fmt.Sprintf("version %d", to.Version), Context: 3,
		})
		if err != nil {
			uiError(w, http.StatusInternalServerError, "internal error")
			return
		}
		if diff == "" {
			diff = "The two versions are the same."
		}
	}
	uiRender(w, "config.html.tmpl", struct {
		uiConfigVersion
		Pretty      string
		Versions    []uiConfigVersion
		Diff        string
		Differences []string
		Title       string
	}{shown, prettyJSON(shown.Body), versions, diff, kayenta.Differences(shown.Body, s.configs.aca), shown.Title})
}

// uiConfigVersion is what the UI shows of a stored config version.
type uiConfigVersion struct {
	Name      string
	Version   int64
	UpdatedAt time.Time
	Body      []byte
	Title     string
}

func configVersionOf(c *judgev1.CanaryConfig) uiConfigVersion {
	v := uiConfigVersion{Name: c.GetName(), Version: c.GetVersion(), UpdatedAt: c.GetUpdateTime().AsTime(), Title: configTitle(c)}
	if c.GetConfig() != nil {
		v.Body, _ = protojson.Marshal(c.GetConfig())
	}
	return v
}

// configTitle is the name a stored config gives itself, which Kayenta's
// POST /canaryConfig stores under a generated id: the name, or the stored
// name when the body has none.
func configTitle(c *judgev1.CanaryConfig) string {
	if name := c.GetConfig().GetFields()["name"].GetStringValue(); name != "" {
		return name
	}
	return c.GetName()
}

// prettyJSON indents a stored config's JSON (as is when it is not JSON).
func prettyJSON(body []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, body, "", "  ") != nil {
		return string(body)
	}
	return out.String() + "\n"
}

// scopeLinks say which scopes an analysis given scopes compared: per
// scope name, the baseline's and the canary's scope (and location), their
// ranges and step. Each metric's rendered queries are in the report.
func scopeLinks(spec *judgev1.AnalysisSpec) []report.Link {
	var links []report.Link
	for _, name := range slices.Sorted(maps.Keys(spec.GetScopes())) {
		p := spec.GetScopes()[name]
		side := func(s *judgev1.Scope) string {
			where := s.GetScope()
			if s.GetLocation() != "" {
				where += " in " + s.GetLocation()
			}
			return fmt.Sprintf("%s from %s to %s", where, s.GetStart().AsTime().UTC().Format(time.RFC3339), s.GetEnd().AsTime().UTC().Format(time.RFC3339))
		}
		links = append(links, report.Link{Text: fmt.Sprintf("— scope %s: baseline %s, canary %s, step %ds", name,
			side(p.GetControlScope()), side(p.GetExperimentScope()), p.GetControlScope().GetStepSeconds())})
	}
	return links
}

// labelLinks are an analysis page's label and the buttons that set it:
// regression, good, or clear.
func labelLinks(a *judgev1.Analysis) []report.Link {
	action := "/ui/analyses/" + url.PathEscape(a.GetId()) + "/label"
	status := report.Link{Text: "— not labelled; it was:"}
	if a.GetLabel() != "" {
		status.Text = fmt.Sprintf("— labelled %s by %s at %s; relabel:", a.GetLabel(), a.GetLabelledBy(), a.GetLabelTime().AsTime().UTC().Format("2006-01-02 15:04:05Z"))
	}
	links := []report.Link{status}
	for _, l := range []string{store.LabelRegression, store.LabelGood} {
		if l != a.GetLabel() {
			links = append(links, report.Link{Text: l, URL: action, Fields: map[string]string{"label": l}})
		}
	}
	if a.GetLabel() != "" {
		links = append(links, report.Link{Text: "clear", URL: action, Fields: map[string]string{"label": ""}})
	}
	return links
}

// uiLabel labels an analysis from its page's buttons (the ui wrapper has
// checked the write role) and shows the page again.
func (s *Service) uiLabel(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	id := r.PathValue("id")
	if _, err := s.LabelAnalysis(r.Context(), &judgev1.LabelAnalysisRequest{Id: id, Label: r.PostFormValue("label")}); err != nil {
		s.uiFail(w, "label analysis", err)
		return
	}
	http.Redirect(w, r, "/ui/analyses/"+url.PathEscape(id), http.StatusSeeOther)
}

// uiLogin serves the login form and, on POST, checks the token (it needs
// the read role) and keeps it in a Secure, HttpOnly, SameSite=Strict
// cookie scoped to /ui (browsers send Secure cookies over HTTPS, and to
// localhost over HTTP).
func (a *authenticator) uiLogin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		uiRender(w, "login.html.tmpl", "")
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		uiError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	token := strings.TrimSpace(r.PostFormValue("token"))
	if _, err := a.check("Bearer "+token, auth.RoleRead, "POST /ui/login"); err != nil || token == "" {
		uiRenderStatus(w, http.StatusUnauthorized, "login.html.tmpl", "That token is not valid for reading.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: token, Path: "/ui", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// ui wraps the web UI: without tokens configured it is open (like the
// API); otherwise a read token must come in the Authorization header or
// the login cookie, and a browser without one is sent to the login form.
func (a *authenticator) ui(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ui/login" {
			a.uiLogin(w, r)
			return
		}
		header := r.Header.Get("Authorization")
		if c, err := r.Cookie(uiCookie); header == "" && err == nil {
			header = "Bearer " + c.Value
		}
		// Labelling an analysis (its page's buttons) is a write.
		need := auth.RoleRead
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/ui/analyses/") && strings.HasSuffix(r.URL.Path, "/label") {
			need = auth.RoleWrite
		}
		caller, err := a.check(header, need, r.Method+" "+r.URL.Path)
		switch {
		case errors.Is(err, auth.ErrPermissionDenied) && need == auth.RoleWrite:
			uiError(w, http.StatusForbidden, "labelling an analysis needs a write token: log in with one")
			return
		case err != nil:
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), caller)))
	})
}

// uiHeaders forbids the pages from loading anything from elsewhere.
func uiHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

func uiRender(w http.ResponseWriter, name string, data any) {
	uiRenderStatus(w, http.StatusOK, name, data)
}

// uiRenderStatus renders a page with the security headers every page
// carries, then the status code.
func uiRenderStatus(w http.ResponseWriter, code int, name string, data any) {
	var buf bytes.Buffer
	if err := uiPages.ExecuteTemplate(&buf, name, data); err != nil {
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	uiHeaders(w)
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func uiError(w http.ResponseWriter, code int, msg string) {
	uiHeaders(w)
	w.WriteHeader(code)
	_ = uiPages.ExecuteTemplate(w, "error.html.tmpl", msg)
}
