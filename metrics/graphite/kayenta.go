package graphite

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/canaryjudge/judge/metrics"
)

// kayentaQuery is Kayenta's GraphiteCanaryMetricSetQueryConfig.
type kayentaQuery struct {
	Type                 string `json:"type"`
	MetricName           string `json:"metricName"`
	CustomInlineTemplate string `json:"customInlineTemplate"`
}

// FromKayentaWith renders a Kayenta graphite query config for a scope.
// Kayenta sends template(metricName, scope="…", location="…"), graphite
// replacing $scope and $location in the metric name; here they are
// replaced before sending, each value escaped by lang for a path segment
// (a scope with a dot or wildcard would otherwise match other series). A
// customInlineTemplate is used as it is, its ${scope} and ${location}
// expanded the same way.
func FromKayentaWith(lang metrics.Language, raw []byte, _ map[string]string, vars map[string]string) (string, error) {
	var k kayentaQuery
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("%w: graphite query config: %w", metrics.ErrTemplate, err)
	}
	if k.CustomInlineTemplate != "" {
		return metrics.Expand(k.CustomInlineTemplate, vars, lang)
	}
	if k.MetricName == "" {
		return "", fmt.Errorf("%w: graphite query config: metricName is required", metrics.ErrTemplate)
	}
	var pairs []string
	for _, name := range []string{"scope", "location"} {
		if !strings.Contains(k.MetricName, "$"+name) {
			continue
		}
		v, err := lang.Escape(vars[name], metrics.Place{})
		if err != nil {
			return "", fmt.Errorf("%s %.80q: %w", name, vars[name], err)
		}
		pairs = append(pairs, "$"+name, v)
	}
	return strings.NewReplacer(pairs...).Replace(k.MetricName), nil
}
