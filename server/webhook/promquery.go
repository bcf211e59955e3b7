package webhook

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/canaryjudge/judge/store"
)

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
