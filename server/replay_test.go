package server

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
	"github.com/canaryjudge/judge/store/pgtest"
)

// replayed is ReplayAnalyses' answer as JSON.
type replayed struct {
	Analyses []struct {
		ID        string `json:"id"`
		Label     string `json:"label"`
		Error     string `json:"error"`
		Recorded  replayedVerdict
		Candidate *replayedVerdict
	} `json:"analyses"`
	NextPageToken string `json:"next_page_token"`
}

type replayedVerdict struct {
	Judge  string  `json:"judge"`
	Result string  `json:"result"`
	Score  float64 `json:"score"`
}

// TestLabelsAndReplay stores analyses of random canaries — inline series,
// fetched from a real Prometheus, a planned look, the kayenta judge,
// request thresholds — on SQLite and on PostgreSQL, labels some, restarts
// the server, and checks: labels survive with who and when; only the
// analysis' creator labels it; replaying with no candidate reproduces
// every recorded verdict exactly (the property), a candidate config
// changes the verdicts it should, and bad requests name their field.
func TestLabelsAndReplay(t *testing.T) {
	start := time.Now().Add(-30 * time.Hour).Truncate(time.Hour).UTC()
	prom := func(pod string, level float64) promtest.Series {
		s := promtest.Series{Name: "api_latency_seconds", Labels: map[string]string{"pod": pod}}
		for i := range 160 {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: level * (1 + 0.05*math.Sin(float64(i)*2.1))})
		}
		return s
	}
	url := promtest.Start(t, []promtest.Series{prom("base", 0.1), prom("good", 0.1), prom("slow", 0.2)})
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfg := Config{Tokens: ownershipTokens(t), Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: url}}}
			if backend == "postgres" {
				cfg.DatabaseURL = pgtest.NewDatabase(t)
			} else {
				cfg.DataDir = t.TempDir()
			}
			since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
			s := startServer(t, cfg)
			base := "http://" + s.Addr()
			ids := storeRandomAnalyses(t, base, start)

			// Labels: the creator's, refused to another token, checked.
			for i, id := range ids[:4] {
				label := []string{"regression", "good"}[i%2]
				if code, _, body := do(t, "PUT", base+"/v1/analyses/"+id+"/label", unscopedToken, `{"label":"`+label+`"}`); code != 200 || !strings.Contains(body, `"label":"`+label+`"`) {
					t.Fatalf("label %s: %d %s", id, code, body)
				}
			}
			if code, _, body := do(t, "PUT", base+"/v1/analyses/"+ids[0]+"/label", neighbourToken, `{"label":"good"}`); code != 403 {
				t.Errorf("another token labels: %d %s, want 403", code, body)
			}
			if code, _, body := do(t, "PUT", base+"/v1/analyses/"+ids[0]+"/label", unscopedToken, `{"label":"bad"}`); code != 400 || !strings.Contains(body, "label") {
				t.Errorf("an unknown label: %d %s, want 400 naming it", code, body)
			}
			if code, _, body := do(t, "PUT", base+"/v1/analyses/"+ids[3]+"/label", unscopedToken, `{"label":""}`); code != 200 || strings.Contains(body, `"label":"good"`) {
				t.Errorf("clearing a label: %d %s", code, body)
			}

			// Restart: the labels and the analyses' series are still there.
			s.Shutdown(t.Context())
			s = startServer(t, cfg)
			base = "http://" + s.Addr()
			var got struct {
				Analysis struct {
					Label      string `json:"label"`
					LabelledBy string `json:"labelled_by"`
					LabelTime  string `json:"label_time"`
				} `json:"analysis"`
			}
			code, _, body := do(t, "GET", base+"/v1/analyses/"+ids[0], readToken, "")
			if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || got.Analysis.Label != "regression" || got.Analysis.LabelledBy == "" || got.Analysis.LabelTime == "" {
				t.Errorf("label after a restart: %d %.300s", code, body)
			}

			// With no candidate, every recorded verdict is reproduced.
			replay := func(token, request string) (int, replayed, string) {
				var r replayed
				code, _, body := do(t, "POST", base+"/v1/analyses:replay", token, request)
				if code == 200 {
					if err := json.Unmarshal([]byte(body), &r); err != nil {
						t.Fatal(err)
					}
				}
				return code, r, body
			}
			code, r, body := replay(unscopedToken, `{"since":"`+since+`","page_size":200}`)
			if code != 200 || len(r.Analyses) != len(ids) {
				t.Fatalf("replay: %d, %d of %d analyses: %s", code, len(r.Analyses), len(ids), body)
			}
			labels := 0
			for _, a := range r.Analyses {
				if a.Candidate == nil || a.Error != "" || *a.Candidate != a.Recorded {
					t.Errorf("analysis %s: recorded %+v, replayed %+v (%s)", a.ID, a.Recorded, a.Candidate, a.Error)
				}
				if a.Label != "" {
					labels++
				}
			}
			if labels != 3 {
				t.Errorf("%d replayed analyses carry a label, want 3", labels)
			}
			if code, r, _ := replay(neighbourToken, `{"since":"`+since+`","labelled_only":true}`); code != 200 || len(r.Analyses) != 3 {
				t.Errorf("labelled only: %d, %d analyses", code, len(r.Analyses))
			}

			// A candidate that reads latency as lower-is-worse passes what
			// the recorded config failed on latency alone.
			candidate := strings.Replace(replayConfig, `"direction":"increase"`, `"direction":"decrease"`, 1)
			code, r, body = replay(unscopedToken, `{"since":"`+since+`","canary_config":`+candidate+`,"judge":"default"}`)
			changed := 0
			for _, a := range r.Analyses {
				if a.Candidate != nil && a.Candidate.Result != a.Recorded.Result {
					changed++
				}
			}
			if code != 200 || changed == 0 {
				t.Errorf("a candidate config: %d, %d verdicts changed: %s", code, changed, body)
			}

			for request, want := range map[string]string{
				`{}`: "since",
				`{"since":"` + since + `","page_size":500}`:                                                          "page_size",
				`{"since":"` + since + `","judge":"oracle"}`:                                                         "judge",
				`{"since":"` + since + `","canary_config":{"metrics":[{"name":"x","groups":["g"],"critcal":true}]}}`: "critcal",
				`{"since":"` + since + `","canary_config_name":"nope"}`:                                              "nope",
			} {
				if code, _, body := replay(unscopedToken, request); code/100 != 4 || !strings.Contains(body, want) {
					t.Errorf("replay %s: %d %s, want 4xx naming %s", request, code, body, want)
				}
			}
			if code, _, _ := replay(readToken, `{"since":"`+since+`"}`); code != 403 {
				t.Errorf("replay with a read token: %d, want 403 (it runs analyses)", code)
			}
		})
	}
}

// replayConfig is TestLabelsAndReplay's canary config: latency fetched
// from Prometheus or given inline, critical; errors given inline.
const replayConfig = `{"name":"api","metrics":[
	{"name":"latency","groups":["perf"],"critical":true,"direction":"increase","query":{"prometheus":"avg(api_latency_seconds{pod=\"${scope}\"})"}},
	{"name":"errors","groups":["errors"],"direction":"increase","query":{"prometheus":"avg(api_latency_seconds{pod=\"${scope}\"})"}}]}`

// storeRandomAnalyses creates stored analyses of random canaries (shift,
// noise, length and options drawn from a fixed seed) and two fetched from
// Prometheus, waits for them to finish, and returns their ids.
func storeRandomAnalyses(t *testing.T, base string, start time.Time) []string {
	t.Helper()
	r := rand.New(rand.NewPCG(61, 62))
	series := func(n int, level, noise float64) string {
		v := make([]string, n)
		for i := range v {
			v[i] = fmt.Sprintf("%.6g", level*(1+noise*r.NormFloat64()))
		}
		return "[" + strings.Join(v, ",") + "]"
	}
	var specs []string
	for i := range 10 {
		n := 20 + r.IntN(60)
		shift := []float64{1, 1, 1.02, 1.3, 1.6}[r.IntN(5)]
		noise := 0.02 + 0.1*r.Float64()
		extra := []string{"", `,"judge":"kayenta"`, `,"looks":3,"look":2`, `,"thresholds":{"pass":90,"marginal":60}`}[i%4]
		specs = append(specs, fmt.Sprintf(`{"canary_config":%s,"metrics":[
			{"name":"latency","control":%s,"experiment":%s,"control_history":%s},
			{"name":"errors","control":%s,"experiment":%s}]%s}`,
			replayConfig, series(n, 100, noise), series(n, 100*shift, noise), series(3*n, 100, noise), series(n, 5, 0.3), series(n, 5, 0.3), extra))
	}
	scope := func(pod string) string {
		return fmt.Sprintf(`{"scope":%q,"start":%q,"end":%q,"step_seconds":60}`, pod, start.Add(120*time.Minute).Format(time.RFC3339), start.Add(159*time.Minute).Format(time.RFC3339))
	}
	for _, canary := range []string{"good", "slow"} {
		specs = append(specs, fmt.Sprintf(`{"canary_config":%s,"scopes":{"default":{"control_scope":%s,"experiment_scope":%s}}}`, replayConfig, scope("base"), scope(canary)))
	}
	var ids []string
	for _, spec := range specs {
		var created struct {
			Analysis struct {
				ID string `json:"id"`
			} `json:"analysis"`
		}
		code, _, body := do(t, "POST", base+"/v1/analyses", unscopedToken, `{"spec":`+spec+`}`)
		if err := json.Unmarshal([]byte(body), &created); code != 200 || err != nil {
			t.Fatalf("create: %d %s", code, body)
		}
		ids = append(ids, created.Analysis.ID)
	}
	for _, id := range ids {
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, _, body := do(t, "GET", base+"/v1/analyses/"+id, readToken, "")
			if strings.Contains(body, `"ANALYSIS_STATUS_SUCCEEDED"`) {
				break
			}
			if strings.Contains(body, `"ANALYSIS_STATUS_FAILED"`) || time.Now().After(deadline) {
				t.Fatalf("analysis %s: %s", id, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return ids
}
