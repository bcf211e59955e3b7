package server

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/graphite/graphitetest"
)

// TestKayentaGraphiteConfig runs a Kayenta canary config with a Graphite
// metric (Kayenta's graphite query config: a metric name with $location
// and $scope) unedited through Kayenta's /canaryConfig and /canary
// against a real graphite-web: the good canary passes, the one 50% slower
// fails, and a scope that would widen the path is refused.
func TestKayentaGraphiteConfig(t *testing.T) {
	start := time.Now().Add(-20 * time.Hour).Truncate(time.Hour).UTC()
	series := func(pod string, level float64, phase int) graphitetest.Series {
		v := make([]float64, 40)
		for i := range v {
			v[i] = level * (1 + 0.05*math.Sin(float64(i+phase)*1.9))
		}
		return graphitetest.Series{Path: "checkout.eu-west-1." + pod + ".latency", Start: start, Step: time.Minute, Values: v}
	}
	url := graphitetest.Start(t, []graphitetest.Series{series("base", 0.2, 0), series("good", 0.2, 7), series("bad", 0.3, 0)})
	s := startServer(t, Config{Accounts: []metrics.Account{{Name: "graphite", Type: "graphite", URL: url}}})
	base := "http://" + s.Addr()
	config := `{"name":"checkout-graphite","applications":["shop"],"judge":{"name":"NetflixACAJudge-v1.0","judgeConfigurations":{}},
	"metrics":[{"name":"latency","groups":["perf"],"scopeName":"default",
	  "query":{"type":"graphite","metricName":"checkout.$location.$scope.latency"},
	  "analysisConfigurations":{"canary":{"direction":"increase","critical":true}}}],
	"templates":{},"classifier":{"groupWeights":{"perf":100},"scoreThresholds":{"pass":95,"marginal":75}}}`
	var created struct{ CanaryConfigID string }
	if code := kayentaCall(t, "POST", base+"/canaryConfig", config, &created); code != 200 || created.CanaryConfigID == "" {
		t.Fatalf("POST /canaryConfig: %d %+v", code, created)
	}
	execute := func(canary string) (string, string) {
		scope := func(name string) string {
			return fmt.Sprintf(`{"scope":%q,"location":"eu-west-1","step":60,"start":%q,"end":%q}`, name,
				start.Format(time.RFC3339), start.Add(39*time.Minute).Format(time.RFC3339))
		}
		body := fmt.Sprintf(`{"scopes":{"default":{"controlScope":%s,"experimentScope":%s}},"thresholds":{"pass":95,"marginal":75}}`, scope("base"), scope(canary))
		var started struct{ CanaryExecutionID string }
		code := kayentaCall(t, "POST", base+"/canary/"+created.CanaryConfigID+"?application=shop&metricsAccountName=graphite", body, &started)
		if code != 200 {
			return fmt.Sprint(code), ""
		}
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			var st struct {
				Complete bool
				Status   string
				Result   *struct {
					JudgeResult struct {
						Score struct{ Classification string }
					}
				}
			}
			kayentaCall(t, "GET", base+"/canary/"+started.CanaryExecutionID, "", &st)
			if st.Complete && st.Result != nil {
				return st.Status, st.Result.JudgeResult.Score.Classification
			}
		}
		t.Fatalf("canary %s did not complete", canary)
		return "", ""
	}
	if status, class := execute("good"); status != "succeeded" || class != "Pass" {
		t.Errorf("good canary: %s %s", status, class)
	}
	if status, class := execute("bad"); status != "succeeded" || class != "Fail" {
		t.Errorf("slow canary: %s %s", status, class)
	}
	// "*" would match every pod's series: refused at submission.
	if status, _ := execute("*"); status != "400" {
		t.Errorf("a wildcard scope: %s, want 400", status)
	}
}
