package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/store/pgtest"
)

// TestShadows judges analyses of a config with shadows — the kayenta
// judge, a stored config, a missing one — on SQLite and PostgreSQL: the
// enforced verdict is the one without shadows, each shadow's verdict is
// stored beside it (a missing config's as an error), still there after a
// restart, shown on the analysis page, and counted in
// judge_shadow_verdicts_total.
func TestShadows(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfg := Config{}
			if backend == "postgres" {
				cfg.DatabaseURL = pgtest.NewDatabase(t)
			} else {
				cfg.DataDir = t.TempDir()
			}
			s := startServer(t, cfg)
			base := "http://" + s.Addr()
			// The stored shadow: latency alone, and it must grow 50% to count.
			other := `{"config":{"name":"strict","metrics":[{"name":"latency","groups":["perf"],"direction":"increase","critical":true,"effectSize":{"allowedIncrease":1.5}}]}}`
			if code := call(t, "PUT", base+"/v1/canaryConfigs/strict", other, nil); code != 200 {
				t.Fatalf("PUT the shadow config: %d", code)
			}
			shadowed := strings.Replace(inlineConfig, `{"name":"svc",`, `{"name":"svc","shadow":[{"judge":"kayenta"},{"config":"strict"},{"config":"gone"}],`, 1)
			body := strings.Replace(analyzeBody(20), inlineConfig, shadowed, 1)

			var plain, sync struct {
				Verdict struct {
					Result  string  `json:"result"`
					Score   float64 `json:"score"`
					Shadows []struct {
						Shadow string `json:"shadow"`
						Result string `json:"result"`
						Error  string `json:"error"`
					} `json:"shadows"`
				} `json:"verdict"`
			}
			if code := call(t, "POST", base+"/v1/analyze", analyzeBody(20), &plain); code != 200 {
				t.Fatalf("analyze without shadows: %d", code)
			}
			if code := call(t, "POST", base+"/v1/analyze", body, &sync); code != 200 {
				t.Fatalf("analyze with shadows: %d", code)
			}
			sh := sync.Verdict.Shadows
			if sync.Verdict.Result != plain.Verdict.Result || sync.Verdict.Score != plain.Verdict.Score || len(sh) != 3 ||
				sh[0].Shadow != "judge:kayenta" || sh[0].Result == "" || sh[1].Shadow != "config:strict" || sh[1].Result != "PASS" ||
				sh[2].Shadow != "config:gone" || !strings.Contains(sh[2].Error, "not found") {
				t.Errorf("enforced %s %v (without shadows %s %v), shadows %+v", sync.Verdict.Result, sync.Verdict.Score, plain.Verdict.Result, plain.Verdict.Score, sh)
			}

			var created struct {
				Analysis struct {
					ID string `json:"id"`
				} `json:"analysis"`
			}
			if code := call(t, "POST", base+"/v1/analyses", body, &created); code != 200 {
				t.Fatalf("create: %d", code)
			}
			client := grpcClient(t, s.Addr())
			if got := waitFinal(t, client, created.Analysis.ID); len(got.GetVerdict().GetShadows()) != 3 {
				t.Fatalf("the stored analysis' shadows: %v", got.GetVerdict().GetShadows())
			}
			s.Shutdown(t.Context())
			s = startServer(t, cfg)
			base = "http://" + s.Addr()
			var after struct {
				Analysis struct {
					Verdict struct {
						Shadows []json.RawMessage `json:"shadows"`
					} `json:"verdict"`
				} `json:"analysis"`
			}
			if code := call(t, "GET", base+"/v1/analyses/"+created.Analysis.ID, "", &after); code != 200 || len(after.Analysis.Verdict.Shadows) != 3 {
				t.Errorf("after a restart: %d, %d shadows", code, len(after.Analysis.Verdict.Shadows))
			}
			resp, err := http.Get(base + "/ui/analyses/" + created.Analysis.ID)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(page), "shadow judge:kayenta") || !strings.Contains(string(page), "shadow config:gone could not judge") {
				t.Errorf("the analysis page does not show the shadows")
			}
			// The restarted replica counts its own; the first counted the
			// synchronous and the stored analysis (checked before the
			// restart would need its registry): one more synchronous one.
			if code := call(t, "POST", base+"/v1/analyze", body, nil); code != 200 {
				t.Fatalf("analyze after restart: %d", code)
			}
			resp, err = http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := `judge_shadow_verdicts_total{config="svc",enforced="` + plain.Verdict.Result + `",shadow="config:gone",shadowed="ERROR"} 1`
			if !strings.Contains(string(metrics), want) || !strings.Contains(string(metrics), `shadow="judge:kayenta"`) {
				t.Errorf("/metrics lacks %s", want)
			}
		})
	}
}
