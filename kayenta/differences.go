package kayenta

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/canaryjudge/judge/verdict"
)

// knownConfigKeys are the top-level keys of a Kayenta CanaryConfig judge
// reads or that carry no behaviour (ids, timestamps, descriptions).
var knownConfigKeys = []string{"name", "applications", "judge", "metrics", "classifier", "templates",
	"id", "createdTimestamp", "updatedTimestamp", "createdTimestampIso", "updatedTimestampIso", "description", "configVersion"}

// knownMetricKeys are the keys of a Kayenta metric judge reads.
var knownMetricKeys = []string{"name", "query", "groups", "scopeName", "analysisConfigurations"}

// knownCanaryKeys are the keys of analysisConfigurations.canary judge reads.
var knownCanaryKeys = []string{"direction", "nanStrategy", "critical", "mustHaveData", "muted", "effectSize", "outliers"}

// regexScope finds a scope variable inside a regex matcher (PromQL =~ or
// !~, or a Datadog / New Relic pattern): Kayenta substitutes the scope as
// it is, so a scope there can be a regular expression.
var regexScope = regexp.MustCompile(`(=~|!~|RLIKE|LIKE)\s*["'` + "`" + `][^"'` + "`" + `]*\$\{(scope|location)\}`)

// Differences lists what judge will do differently from Kayenta with a
// Kayenta canary config, for judge config validate and the warnings of
// POST /canaryConfig: which judge serves its judge name and why, scopes
// placed where only a regex or matcher would match (judge escapes them;
// an account's kayenta_raw_scopes substitutes them as Kayenta does),
// outlier strategies and fields judge ignores. aca is the judge serving
// NetflixACAJudge-v1.0 (the server's kayenta-aca-judge). A native config
// has none.
func Differences(data []byte, aca verdict.JudgeName) []string {
	if !IsConfig(data) {
		return nil
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return nil
	}
	var out []string
	cfg, err := convert(data, "", aca)
	if err == nil && cfg.KayentaJudge != "" {
		out = append(out, fmt.Sprintf("judge: %s is served by judge's %s judge (judge serve's kayenta-aca-judge setting; %s)", cfg.KayentaJudge, cfg.Judge, judgeWhy(cfg.Judge)))
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(knownConfigKeys, k) {
			out = append(out, fmt.Sprintf("%s: ignored (judge does not read it)", k))
		}
	}
	var judge struct {
		JudgeConfigurations map[string]any `json:"judgeConfigurations"`
	}
	if json.Unmarshal(raw["judge"], &judge) == nil && len(judge.JudgeConfigurations) > 0 {
		out = append(out, "judge.judgeConfigurations: ignored (judge's judges take no configuration)")
	}
	var templates map[string]string
	_ = json.Unmarshal(raw["templates"], &templates)
	for _, name := range slices.Sorted(maps.Keys(templates)) {
		if regexScope.MatchString(templates[name]) {
			out = append(out, fmt.Sprintf("templates.%s: ${scope} lands inside a regex or pattern match; judge escapes it, so a regex scope (checkout-canary-.*) matches only itself unless the metrics account sets kayenta_raw_scopes: true (trusted callers only)", name))
		}
	}
	var metrics []map[string]json.RawMessage
	_ = json.Unmarshal(raw["metrics"], &metrics)
	for i, m := range metrics {
		var name string
		_ = json.Unmarshal(m["name"], &name)
		at := fmt.Sprintf("metrics[%d] (%s)", i, name)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !slices.Contains(knownMetricKeys, k) {
				out = append(out, fmt.Sprintf("%s.%s: ignored (judge does not read it)", at, k))
			}
		}
		var query map[string]any
		_ = json.Unmarshal(m["query"], &query)
		if slices.ContainsFunc(slices.Collect(maps.Values(query)), func(v any) bool { s, ok := v.(string); return ok && regexScope.MatchString(s) }) {
			out = append(out, fmt.Sprintf("%s.query: ${scope} lands inside a regex or pattern match; judge escapes it, so a regex scope matches only itself unless the metrics account sets kayenta_raw_scopes: true (trusted callers only)", at))
		}
		var ac struct {
			Canary map[string]json.RawMessage `json:"canary"`
		}
		_ = json.Unmarshal(m["analysisConfigurations"], &ac)
		for _, k := range slices.Sorted(maps.Keys(ac.Canary)) {
			if !slices.Contains(knownCanaryKeys, k) {
				out = append(out, fmt.Sprintf("%s.analysisConfigurations.canary.%s: ignored (judge does not read it)", at, k))
			}
		}
		var outliers struct {
			Strategy string `json:"strategy"`
		}
		if json.Unmarshal(ac.Canary["outliers"], &outliers) == nil && outliers.Strategy != "" && !strings.EqualFold(outliers.Strategy, "remove") && !strings.EqualFold(outliers.Strategy, "keep") {
			out = append(out, fmt.Sprintf("%s.analysisConfigurations.canary.outliers.strategy %q: judge keeps outliers (it knows remove and keep)", at, outliers.Strategy))
		}
	}
	return out
}

// judgeWhy says what a judge serving Kayenta's name means for results.
func judgeWhy(j verdict.JudgeName) string {
	if j == verdict.JudgeKayenta {
		return "Kayenta's algorithm, reproduced deterministically: results match Kayenta's"
	}
	return "judge's own statistics: results can differ from Kayenta's, by design (docs/concepts.md); set kayenta-aca-judge: kayenta, or shadow the kayenta judge, to compare"
}
