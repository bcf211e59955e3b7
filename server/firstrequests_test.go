package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestFirstRequests: what a newcomer sends first is understood. A bare
// config PUT (native or Kayenta) is stored as the wrapped form is; a bad
// bare config names its field; / leads to the UI; /v1/ lists the routes
// with their roles; the OpenAPI document carries a version; a webhook on a
// server without accounts says what to configure in deployer terms.
func TestFirstRequests(t *testing.T) {
	s := startServer(t, Config{})
	base := "http://" + s.Addr()
	for name, body := range map[string]string{
		"native":  `{"name":"svc","metrics":[{"name":"latency","groups":["perf"],"direction":"increase"}]}`,
		"kayenta": `{"name":"kay","judge":{"name":"NetflixACAJudge-v1.0"},"metrics":[{"name":"latency","groups":["perf"],"analysisConfigurations":{"canary":{"direction":"increase"}},"query":{"type":"prometheus","metricName":"x"}}],"classifier":{"groupWeights":{"perf":100}}}`,
		"wrapped": `{"config":{"name":"w","metrics":[{"name":"latency","groups":["perf"]}]}}`,
	} {
		if code := call(t, "PUT", base+"/v1/canaryConfigs/"+name, body, nil); code != 200 {
			t.Errorf("PUT %s: %d", name, code)
		}
		var got struct {
			CanaryConfig struct {
				Config map[string]any `json:"config"`
			} `json:"canary_config"`
		}
		if code := call(t, "GET", base+"/v1/canaryConfigs/"+name, "", &got); code != 200 || got.CanaryConfig.Config["metrics"] == nil {
			t.Errorf("GET %s: %d %+v", name, code, got)
		}
	}
	var e struct {
		Message string `json:"message"`
	}
	if code := call(t, "PUT", base+"/v1/canaryConfigs/bad", `{"name":"bad","metrics":[{"name":"latency","groups":["perf"],"direction":"sideways"}]}`, &e); code != 400 || !strings.Contains(e.Message, "direction") {
		t.Errorf("bad bare config: %d %q, want 400 naming direction", code, e.Message)
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /: %d to %q, want a redirect to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	var index struct {
		Version string                                     `json:"version"`
		Routes  []struct{ Method, Path, RPC, Role string } `json:"routes"`
	}
	if code := call(t, "GET", base+"/v1/", "", &index); code != 200 || index.Version == "" || len(index.Routes) < 10 {
		t.Fatalf("GET /v1/: %d %+v", code, index)
	}
	found := false
	for _, r := range index.Routes {
		if r.Method == "POST" && r.Path == "/v1/analyze" && r.Role == "write" {
			found = true
		}
	}
	if !found {
		t.Errorf("GET /v1/ does not list POST /v1/analyze with the write role: %+v", index.Routes)
	}
	resp, err = http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc struct {
		Info struct{ Version string } `json:"info"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Info.Version == "" || doc.Info.Version == "version not set" {
		t.Errorf("OpenAPI info.version %q (%v)", doc.Info.Version, err)
	}
	var out map[string]string
	if code := call(t, "GET", base+"/webhooks/argo?config=svc&baseline=a&canary=b", "", &out); code != 400 ||
		!strings.Contains(out["error"], "metrics.accounts") || !strings.Contains(out["error"], "Argo Rollouts") {
		t.Errorf("webhook without accounts: %d %q, want a 400 saying to configure metrics.accounts", code, out["error"])
	}
}
