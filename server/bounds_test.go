package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/metrics"
)

// TestNumericInputsBounded sends steps, windows and durations that would
// overflow a time.Duration (or make one negative) to every entry point
// that takes them: each is refused with 400 naming the field, never
// judged and never a 500.
func TestNumericInputsBounded(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: "http://127.0.0.1:1"}}})
	base := "http://" + s.Addr()
	if code := call(t, "PUT", base+"/v1/canaryConfigs/c", `{"config":{"metrics":[{"name":"a","groups":["g"],"query":{"prometheus":"up{pod=\"${scope}\"}"}}]}}`, nil); code != 200 {
		t.Fatalf("PUT config: %d", code)
	}
	huge := "36028797018963968"
	scope := func(step string) string {
		return `{"scope":"a","start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z","step_seconds":` + step + `}`
	}
	kscope := func(step string) string {
		return `{"scope":"a","start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z","step":` + step + `}`
	}
	standalone := func(field, value string) string {
		return `{"scopes":[{"controlScope":"a","experimentScope":"b","step":60}],"lifetimeDurationMins":60,` + `"` + field + `":` + value + `}`
	}
	for _, tc := range []struct {
		method, path, body, field string
	}{
		{"POST", "/v1/analyze", `{"spec":{"canary_config_name":"c","scopes":{"default":{"control_scope":` + scope(huge) + `,"experiment_scope":` + scope(huge) + `}}}}`, "step"},
		{"POST", "/v1/analyses", `{"spec":{"canary_config_name":"c","scopes":{"default":{"control_scope":` + scope("-5") + `,"experiment_scope":` + scope("-5") + `}}}}`, "step"},
		{"POST", "/canary/c?metricsAccountName=prom", `{"scopes":{"default":{"controlScope":` + kscope(huge) + `,"experimentScope":` + kscope(huge) + `}},"thresholds":{"pass":95,"marginal":75}}`, "step"},
		{"GET", "/webhooks/argo?config=c&baseline=a&canary=b&step=" + huge, "", "step"},
		{"GET", "/webhooks/argo?config=c&baseline=a&canary=b&window=2562047h", "", "window"},
		{"POST", "/webhooks/argo", `{"config":"c","baseline":"a","canary":"b","window":"-5m"}`, "window"},
		{"POST", "/standalone_canary_analysis/c", standalone("lifetimeDurationMins", huge), "lifetimeDurationMins"},
		{"POST", "/standalone_canary_analysis/c", standalone("lookbackMins", "-1"), "lookbackMins"},
		{"POST", "/standalone_canary_analysis/c", standalone("beginAfterMins", huge), "beginAfterMins"},
		{"POST", "/standalone_canary_analysis/c", standalone("analysisIntervalMins", huge), "analysisIntervalMins"},
		{"POST", "/standalone_canary_analysis/c", `{"scopes":[{"controlScope":"a","experimentScope":"b","step":` + huge + `}],"lifetimeDurationMins":60}`, "step"},
		{"POST", "/standalone_canary_analysis/c", `{"scopes":[{"controlScope":"a","experimentScope":"b","step":60,"controlOffsetInMinutes":` + huge + `}],"lifetimeDurationMins":60}`, "controlOffsetInMinutes"},
		{"POST", "/v1/analyze", `{"spec":{"canary_config_name":"c","metrics":[{"name":"a","control":[1,2],"experiment":[1,2],"step_seconds":60,"window_seconds":` + huge + `}]}}`, "window_seconds"},
		{"POST", "/v1/analyze", `{"spec":{"canary_config_name":"c","metrics":[{"name":"a","control":[1,2],"experiment":[1,2],"step_seconds":60,"window_seconds":-300}]}}`, "window_seconds"},
		{"POST", "/v1/analyze", `{"spec":{"canary_config_name":"c","look":3,"looks":2,"metrics":[{"name":"a","control":[1,2],"experiment":[1,2]}]}}`, "spec.look"},
		{"POST", "/v1/analyze", `{"spec":{"canary_config_name":"c","looks":5,"metrics":[{"name":"a","control":[1,2],"experiment":[1,2]}]}}`, "spec.look"},
		{"POST", "/v1/analyses", `{"spec":{"canary_config_name":"c","look":1,"looks":1001,"metrics":[{"name":"a","control":[1,2],"experiment":[1,2]}]}}`, "spec.look"},
		{"POST", "/v1/analyze", `{"spec":{"canary_config_name":"c","look":-1,"looks":2,"metrics":[{"name":"a","control":[1,2],"experiment":[1,2]}]}}`, "spec.look"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = readBody(&b, resp)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(b.String(), tc.field) {
			t.Errorf("%s %s: %d %s; want 400 naming %s", tc.method, tc.path, resp.StatusCode, b.String(), tc.field)
		}
	}
}
