package webhook

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/verdict"
)

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
