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
	"strconv"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/report"
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
	if err := auth.CallerFrom(r.Context()).MayRead(r.PathValue("name")); err != nil {
		uiError(w, http.StatusForbidden, "this token's scopes do not include this sequence")
		return
	}
	after, err := lookPageToken(r.URL.Query().Get("page"))
	if err != nil {
		uiError(w, http.StatusBadRequest, "page: not a page of this sequence")
		return
	}
	seq, looks, next, err := s.store.GetSequence(r.Context(), r.PathValue("name"), after, store.MaxLookPage)
	if errors.Is(err, store.ErrNotFound) {
		uiError(w, http.StatusNotFound, "no sequence "+r.PathValue("name"))
		return
	}
	if err != nil {
		s.log.Error("ui: get sequence", "err", err)
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	view := report.Sequence{Name: seq.Name, Looks: seq.Looks, State: seq.State, Reason: seq.Reason}
	for _, l := range looks {
		lv := report.Look{Look: l.Look, At: l.At}
		if l.AnalysisID != "" {
			lv.ReportURL = "/ui/analyses/" + url.PathEscape(l.AnalysisID)
		}
		v := &judgev1.Verdict{}
		if len(l.Verdict) > 0 && protojson.Unmarshal(l.Verdict, v) == nil {
			lv.Result = protoconv.VerdictFromProto(v)
			lv.Level, lv.Spent, lv.Decision = v.GetLook().GetLevel(), v.GetLook().GetSpent(), v.GetLook().GetDecision()
		}
		view.History = append(view.History, lv)
	}
	links := []report.Link{{Text: "← analyses", URL: "/ui/"}}
	if next > 0 {
		links = append(links, report.Link{Text: "later looks →", URL: "/ui/sequences/" + url.PathEscape(seq.Name) + "?page=look:" + strconv.Itoa(next)})
	}
	var buf bytes.Buffer
	if err := report.SequencePage(&buf, "Sequence "+seq.Name, view, links...); err != nil {
		s.log.Error("ui: render sequence", "sequence", seq.Name, "err", err)
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	uiHeaders(w)
	_, _ = w.Write(buf.Bytes())
}

type uiRow struct {
	store.Analysis
	Result string
	Score  *float64
	// ConfigTitle is the name the analysis' stored config gives itself
	// (configTitle), or its stored name.
	ConfigTitle string
}

func (s *Service) uiAnalyses(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, config, result := q.Get("status"), q.Get("config"), strings.ToUpper(q.Get("result"))
	switch store.Status(status) {
	case "", store.StatusPending, store.StatusRunning, store.StatusSucceeded, store.StatusFailed, store.StatusCanceled:
	default:
		uiError(w, http.StatusBadRequest, fmt.Sprintf("status %q: want pending, running, succeeded, failed or canceled", status))
		return
	}
	switch verdict.Outcome(result) {
	case "", verdict.ResultPass, verdict.ResultMarginal, verdict.ResultFail:
	default:
		uiError(w, http.StatusBadRequest, fmt.Sprintf("result %q: want PASS, MARGINAL or FAIL", result))
		return
	}
	list, next, err := s.store.ListAnalyses(r.Context(), store.AnalysisFilter{Status: store.Status(status), ConfigName: config}, uiPageSize, q.Get("page"))
	if err != nil {
		uiError(w, http.StatusBadRequest, "the page token is not valid")
		return
	}
	var rows []uiRow
	titles := map[string]string{}
	for _, a := range list {
		row := uiRow{Analysis: a, ConfigTitle: a.ConfigName}
		if a.ConfigName != "" {
			if _, seen := titles[a.ConfigName]; !seen {
				titles[a.ConfigName] = a.ConfigName
				if c, err := s.store.GetConfig(r.Context(), a.ConfigName); err == nil {
					titles[a.ConfigName] = configTitle(c)
				}
			}
			row.ConfigTitle = titles[a.ConfigName]
		}
		if len(a.Verdict) > 0 {
			v := &judgev1.Verdict{}
			if protojson.Unmarshal(a.Verdict, v) == nil {
				row.Result, row.Score = v.GetResult(), new(v.GetScore())
			}
		}
		if result != "" && row.Result != result {
			continue
		}
		rows = append(rows, row)
	}
	nextURL := ""
	if next != "" {
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
	a, err := s.store.GetAnalysis(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		uiError(w, http.StatusNotFound, "no analysis "+r.PathValue("id"))
		return
	}
	if err != nil {
		s.log.Error("ui: get analysis", "err", err)
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	if a.Status != store.StatusSucceeded {
		uiRender(w, "analysis.html.tmpl", a)
		return
	}
	v := &judgev1.Verdict{}
	if err := protojson.Unmarshal(a.Verdict, v); err != nil {
		s.log.Error("ui: stored verdict unreadable", "id", a.ID, "err", err)
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	var pairs []verdict.MetricSetPair
	if len(a.Series) > 0 {
		_ = json.Unmarshal(a.Series, &pairs)
	} else {
		spec := &judgev1.AnalysisSpec{}
		if protojson.Unmarshal(a.Spec, spec) == nil {
			pairs = protoconv.PairsFromProto(spec.GetMetrics())
		}
	}
	var buf bytes.Buffer
	links := []report.Link{{Text: "← analyses", URL: "/ui/"}}
	if a.ConfigName != "" {
		links = append(links, report.Link{Text: "config " + a.ConfigName, URL: "/ui/configs/" + url.PathEscape(a.ConfigName)})
	}
	if name := v.GetLook().GetSequence(); name != "" {
		links = append(links, report.Link{Text: fmt.Sprintf("sequence %s (look %d)", name, v.GetLook().GetLook()), URL: "/ui/sequences/" + url.PathEscape(name)})
	}
	if l := v.GetLook(); l.GetDecision() == "continue" && v.GetResult() != "FAIL" {
		links = append(links, report.Link{Text: fmt.Sprintf("— no decision yet: look %d found no regression established (the result below is this look alone); a later look decides", l.GetLook())})
	}
	links = append(links, scopeLinks(a)...)
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
	if err := report.Analysis(&buf, "Analysis "+a.ID, protoconv.VerdictFromProto(v), pairs, links...); err != nil {
		s.log.Error("ui: render report", "id", a.ID, "err", err)
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	uiHeaders(w)
	_, _ = w.Write(buf.Bytes())
}

func (s *Service) uiConfigs(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.store.ListConfigs(r.Context(), uiPageSize, r.URL.Query().Get("page"))
	if err != nil {
		uiError(w, http.StatusBadRequest, "the page token is not valid")
		return
	}
	nextURL := ""
	if next != "" {
		nextURL = "/ui/configs/?" + url.Values{"page": {next}}.Encode()
	}
	type row struct {
		store.Config
		Title string
	}
	rows := make([]row, len(list))
	for i, c := range list {
		// A list carries no bodies: the name a config gives itself is read
		// from each (a page holds at most uiPageSize).
		if full, err := s.store.GetConfig(r.Context(), c.Name); err == nil {
			c.Body = full.Body
		}
		rows[i] = row{c, configTitle(c)}
	}
	uiRender(w, "configs.html.tmpl", struct {
		Configs []row
		Next    string
	}{rows, nextURL})
}

func (s *Service) uiConfig(w http.ResponseWriter, r *http.Request) {
	versions, err := s.store.ConfigVersions(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		uiError(w, http.StatusNotFound, "no canary config "+r.PathValue("name"))
		return
	}
	if err != nil {
		s.log.Error("ui: config versions", "err", err)
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	pick := func(param string, def store.Config) (store.Config, bool) {
		v := r.URL.Query().Get(param)
		if v == "" {
			return def, true
		}
		for _, c := range versions {
			if fmt.Sprint(c.Version) == v {
				return c, true
			}
		}
		return store.Config{}, false
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
		store.Config
		Pretty      string
		Versions    []store.Config
		Diff        string
		Differences []string
		Title       string
	}{shown, prettyJSON(shown.Body), versions, diff, kayenta.Differences(shown.Body, s.configs.aca), configTitle(shown)})
}

// configTitle is the name a stored config gives itself, which Kayenta's
// POST /canaryConfig stores under a generated id: the name, or the stored
// name when the body has none.
func configTitle(c store.Config) string {
	var body struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(c.Body, &body) != nil || body.Name == "" {
		return c.Name
	}
	return body.Name
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
func scopeLinks(a store.Analysis) []report.Link {
	spec := &judgev1.AnalysisSpec{}
	if protojson.Unmarshal(a.Spec, spec) != nil {
		return nil
	}
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
func labelLinks(a store.Analysis) []report.Link {
	action := "/ui/analyses/" + url.PathEscape(a.ID) + "/label"
	status := report.Link{Text: "— not labelled; it was:"}
	if a.Label != "" {
		status.Text = fmt.Sprintf("— labelled %s by %s at %s; relabel:", a.Label, a.LabelledBy, a.LabelledAt.UTC().Format("2006-01-02 15:04:05Z"))
	}
	links := []report.Link{status}
	for _, l := range []string{store.LabelRegression, store.LabelGood} {
		if l != a.Label {
			links = append(links, report.Link{Text: l, URL: action, Fields: map[string]string{"label": l}})
		}
	}
	if a.Label != "" {
		links = append(links, report.Link{Text: "clear", URL: action, Fields: map[string]string{"label": ""}})
	}
	return links
}

// uiLabel labels an analysis from its page's buttons (the ui wrapper has
// checked the write role) and shows the page again.
func (s *Service) uiLabel(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	id := r.PathValue("id")
	owner := auth.CallerFrom(r.Context()).Owner
	_, err := s.store.SetLabel(r.Context(), id, r.PostFormValue("label"), owner, labeller(owner))
	switch {
	case errors.Is(err, store.ErrNotFound):
		uiError(w, http.StatusNotFound, "no analysis "+id)
	case errors.Is(err, store.ErrNotOwner):
		uiError(w, http.StatusForbidden, "only the token that created this analysis may label it")
	case errors.Is(err, store.ErrInvalidLabel):
		uiError(w, http.StatusBadRequest, "label: want regression, good or none")
	case err != nil:
		s.log.Error("ui: label analysis", "id", id, "err", err)
		uiError(w, http.StatusInternalServerError, "internal error")
	default:
		http.Redirect(w, r, "/ui/analyses/"+url.PathEscape(id), http.StatusSeeOther)
	}
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
