package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

// TestKayentaACAJudge: which judge serves a Kayenta config naming
// NetflixACAJudge-v1.0 is the server's kayenta-aca-judge setting (judge's
// default judge unless set), and every result names both; a config naming
// one of judge's own judges keeps it; a bad setting is refused at start.
func TestKayentaACAJudge(t *testing.T) {
	kayentaConfig := `{"name":"checkout","judge":{"name":"NetflixACAJudge-v1.0","judgeConfigurations":{}},
	"metrics":[{"name":"latency","groups":["perf"],"scopeName":"default","query":{"type":"prometheus","customInlineTemplate":"PromQL:x"},
	  "analysisConfigurations":{"canary":{"direction":"increase","critical":true}}}],
	"classifier":{"groupWeights":{"perf":100}}}`
	body := func(cfg string) string {
		var c, e []string
		for i := range 30 {
			c, e = append(c, fmt.Sprint(100+i%7)), append(e, fmt.Sprint(101+i%5))
		}
		return fmt.Sprintf(`{"spec":{"canary_config":%s,"metrics":[{"name":"latency","control":[%s],"experiment":[%s]}]}}`, cfg, strings.Join(c, ","), strings.Join(e, ","))
	}
	type answer struct {
		Verdict struct{ Judge, Serves string } `json:"verdict"`
	}
	for setting, want := range map[string]string{"": "default", "kayenta": "kayenta", "default": "default"} {
		s := startServer(t, Config{KayentaACAJudge: verdictJudge(setting)})
		var got answer
		if code := call(t, "POST", "http://"+s.Addr()+"/v1/analyze", body(kayentaConfig), &got); code != 200 || got.Verdict.Judge != want || got.Verdict.Serves != "NetflixACAJudge-v1.0" {
			t.Errorf("setting %q: %d, judge %q serving %q; want %s serving NetflixACAJudge-v1.0", setting, code, got.Verdict.Judge, got.Verdict.Serves, want)
		}
		own := strings.Replace(kayentaConfig, `"NetflixACAJudge-v1.0"`, `"default"`, 1)
		if code := call(t, "POST", "http://"+s.Addr()+"/v1/analyze", body(own), &got); code != 200 || got.Verdict.Judge != "default" || got.Verdict.Serves != "" {
			t.Errorf("setting %q, a config naming judge's default: judge %q serving %q", setting, got.Verdict.Judge, got.Verdict.Serves)
		}
	}
	if _, err := Start(t.Context(), Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), KayentaACAJudge: "oracle"}, quiet); err == nil || !strings.Contains(err.Error(), "kayenta-aca-judge") {
		t.Errorf("a bad setting: %v", err)
	}
}

func verdictJudge(s string) verdict.JudgeName { return verdict.JudgeName(s) }

// TestKayentaConfigWarnings: storing a Kayenta config through Kayenta's
// POST /canaryConfig answers, beside its id, what judge will do
// differently (here a scope inside a regex matcher, naming
// kayenta_raw_scopes, and the judge serving NetflixACAJudge-v1.0), and
// the UI's config page lists the same.
func TestKayentaConfigWarnings(t *testing.T) {
	s := startServer(t, Config{})
	base := "http://" + s.Addr()
	config := `{"name":"regexy","judge":{"name":"NetflixACAJudge-v1.0","judgeConfigurations":{}},
	"metrics":[{"name":"latency","groups":["perf"],"scopeName":"default",
	  "query":{"type":"prometheus","customInlineTemplate":"PromQL:avg(x{pod=~\"${scope}\"})"},
	  "analysisConfigurations":{"canary":{"direction":"increase"}}}],"classifier":{"groupWeights":{"perf":100}}}`
	var created struct {
		CanaryConfigID string
		Warnings       []string
	}
	if code := kayentaCall(t, "POST", base+"/canaryConfig", config, &created); code != 200 || created.CanaryConfigID == "" {
		t.Fatalf("POST /canaryConfig: %d", code)
	}
	all := strings.Join(created.Warnings, "\n")
	if !strings.Contains(all, "kayenta_raw_scopes") || !strings.Contains(all, "NetflixACAJudge-v1.0 is served by judge's default judge") {
		t.Errorf("warnings: %q", created.Warnings)
	}
	code, _, page := do(t, "GET", base+"/ui/configs/"+created.CanaryConfigID, "", "")
	if code != 200 || !strings.Contains(page, "Differences from Kayenta") || !strings.Contains(page, "kayenta_raw_scopes") ||
		!strings.Contains(page, "<h1>Canary config regexy</h1>") {
		t.Errorf("the config page: %d", code)
	}
	// An analysis of it is listed under its name, not the generated id.
	spec := `{"spec":{"canary_config_name":"` + created.CanaryConfigID + `","metrics":[{"name":"latency","control":[1,2,3,4,5],"experiment":[1,2,3,4,5]}]}}`
	if code := call(t, "POST", base+"/v1/analyses", spec, nil); code != 200 {
		t.Fatalf("create an analysis of the config: %d", code)
	}
	if code, _, analyses := do(t, "GET", base+"/ui/", "", ""); code != 200 || !strings.Contains(analyses, ">regexy</a>") {
		t.Errorf("the analyses list: %d, want the config named regexy", code)
	}
	// Configs are listed by their name, the generated id beside it.
	if code, _, list := do(t, "GET", base+"/ui/configs/", "", ""); code != 200 || !strings.Contains(list, ">regexy</a></td><td>"+created.CanaryConfigID) {
		t.Errorf("the config list: %d\n%s", code, list[strings.Index(list, "<tbody>"):])
	}
}
