package server

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestRemoteJudgeReadsQueryWindow checks that Kayenta's remote judge
// request, whose pairs carry the rendered query in attributes (as Kayenta's
// metric services set it), is thinned by the query's range window: a
// rate over 5 m at a 60 s step is judged one point in five.
func TestRemoteJudgeReadsQueryWindow(t *testing.T) {
	s := startServer(t, Config{})
	series := func(level float64) string {
		var b strings.Builder
		for i := range 180 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.4f", level*(1+0.05*math.Sin(float64(i)*1.3)))
		}
		return b.String()
	}
	config := `{"name":"rates","judge":{"name":"RemoteJudge-v1.0"},
		"metrics":[{"name":"requests","groups":["traffic"],
		  "query":{"type":"prometheus","customInlineTemplate":"PromQL:sum(rate(http_requests_total{pod=\"${scope}\"}[5m]))"},
		  "analysisConfigurations":{"canary":{"direction":"decrease"}}}],
		"classifier":{"groupWeights":{"traffic":100}}}`
	for _, tc := range []struct {
		query, want string
	}{
		{`sum(rate(http_requests_total{pod=\"a\"}[5m]))`, "each point spans 5 steps"},
		{`sum(irate(http_requests_total{pod=\"a\"}[5m]))`, ""},
	} {
		pairs := fmt.Sprintf(`[{"name":"requests","values":{"control":[%s],"experiment":[%s]},
			"scopes":{"control":{"startTimeMillis":1000,"stepMillis":60000},"experiment":{"startTimeMillis":2000,"stepMillis":60000}},
			"attributes":{"control":{"query":"%s"},"experiment":{"query":"%s"}}}]`, series(100), series(100), tc.query, tc.query)
		body := fmt.Sprintf(`{"canaryConfig":%s,"metricSetPairList":%s}`, config, pairs)
		var judged struct {
			Results []struct{ Classification, ClassificationReason string }
		}
		if code := kayentaCall(t, "POST", "http://"+s.Addr()+"/judge", body, &judged); code != 200 || len(judged.Results) != 1 {
			t.Fatalf("POST /judge: %d %+v", code, judged)
		}
		reason := judged.Results[0].ClassificationReason
		if spans := strings.Contains(reason, "each point spans 5 steps"); spans != (tc.want != "") {
			t.Errorf("query %s: %s", tc.query, reason)
		}
	}
}

// TestInlineSeriesWindow checks that series sent inline over the API
// carry their window (window_seconds) to the judge, the data path that
// custom deployers and `judge analyze --server` use.
func TestInlineSeriesWindow(t *testing.T) {
	s := startServer(t, Config{})
	var values strings.Builder
	for i := range 180 {
		if i > 0 {
			values.WriteByte(',')
		}
		fmt.Fprintf(&values, "%.4f", 100*(1+0.05*math.Sin(float64(i)*1.3)))
	}
	for _, tc := range []struct {
		window string
		spans  bool
	}{{"300", true}, {"0", false}} {
		body := fmt.Sprintf(`{"spec":{"canary_config":{"metrics":[{"name":"a","groups":["g"]}]},
			"metrics":[{"name":"a","control":[%s],"experiment":[%s],"step_seconds":60,"window_seconds":%s}]}}`, values.String(), values.String(), tc.window)
		var out map[string]any
		if code := call(t, "POST", "http://"+s.Addr()+"/v1/analyze", body, &out); code != 200 {
			t.Fatalf("window %s: %d %v", tc.window, code, out)
		}
		if got := strings.Contains(fmt.Sprint(out), "each point spans 5 steps"); got != tc.spans {
			t.Errorf("window_seconds %s: thinned %v, want %v: %v", tc.window, got, tc.spans, out)
		}
	}
}
