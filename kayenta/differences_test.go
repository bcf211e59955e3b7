package kayenta

import (
	"strings"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

// TestDifferences lists what judge does differently with a Kayenta
// config: the judge serving NetflixACAJudge-v1.0, a scope inside a regex
// matcher (naming kayenta_raw_scopes), fields and strategies it ignores;
// a native config has none.
func TestDifferences(t *testing.T) {
	cfg := `{"name":"checkout","configVersion":"1","owner":"team","judge":{"name":"NetflixACAJudge-v1.0","judgeConfigurations":{"x":1}},
	"metrics":[{"name":"latency","groups":["perf"],"scopeName":"default","storageAccountName":"s3",
	  "query":{"type":"prometheus","customInlineTemplate":"PromQL:avg(x{pod=~\"${scope}\"})"},
	  "analysisConfigurations":{"canary":{"direction":"increase","outliers":{"strategy":"winsorize"},"baselineFactor":2}}}],
	"templates":{"by-pod":"pod=~\"${scope}\""},"classifier":{"groupWeights":{"perf":100}}}`
	got := strings.Join(Differences([]byte(cfg), verdict.JudgeDefault), "\n")
	for _, want := range []string{
		"judge: NetflixACAJudge-v1.0 is served by judge's default judge",
		"owner: ignored",
		"judge.judgeConfigurations: ignored",
		"templates.by-pod: ${scope} lands inside a regex",
		"metrics[0] (latency).query: ${scope} lands inside a regex or pattern match; judge escapes it, so a regex scope matches only itself unless the metrics account sets kayenta_raw_scopes: true",
		"metrics[0] (latency).storageAccountName: ignored",
		"metrics[0] (latency).analysisConfigurations.canary.baselineFactor: ignored",
		`outliers.strategy "winsorize": judge keeps outliers`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "configVersion") {
		t.Errorf("configVersion carries no behaviour:\n%s", got)
	}
	if d := Differences([]byte(cfg), verdict.JudgeKayenta); !strings.Contains(strings.Join(d, "\n"), "served by judge's kayenta judge") {
		t.Errorf("with kayenta serving: %q", d)
	}
	if d := Differences([]byte("metrics: [{name: a, groups: [g]}]\n"), verdict.JudgeDefault); d != nil {
		t.Errorf("native config: %q", d)
	}
}
