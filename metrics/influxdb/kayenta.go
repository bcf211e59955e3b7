package influxdb

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/canaryjudge/judge/metrics"
)

// kayentaQuery is Kayenta's InfluxdbCanaryMetricSetQueryConfig.
type kayentaQuery struct {
	Type                 string   `json:"type"`
	MetricName           string   `json:"metricName"`
	Fields               []string `json:"fields"`
	CustomInlineTemplate string   `json:"customInlineTemplate"`
}

// FromKayentaWith renders a Kayenta influxdb query config for a scope, as
// Kayenta's InfluxDbQueryBuilder does: the scope is "tag:value", a
// condition tag = 'value' (here the tag a quoted identifier and the value
// a string literal, each escaped by lang); without a customInlineTemplate,
// SELECT mean(field) FROM metricName WHERE the range AND the scope (one
// field: a metric is one series); with one, its ${timeFilter}, ${scope}
// and ${step} become the range, the condition and the step.
func FromKayentaWith(lang metrics.Language, raw []byte, _ map[string]string, vars map[string]string) (string, error) {
	var k kayentaQuery
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("%w: influxdb query config: %w", metrics.ErrTemplate, err)
	}
	cond, err := scopeCondition(lang, vars["scope"])
	if err != nil {
		return "", err
	}
	if t := k.CustomInlineTemplate; t != "" {
		if !strings.Contains(t, "${timeFilter}") || !strings.Contains(t, "${scope}") {
			return "", fmt.Errorf("%w: influxdb customInlineTemplate: ${timeFilter} and ${scope} are required (as Kayenta requires them)", metrics.ErrTemplate)
		}
		return strings.NewReplacer("${timeFilter}", "$timeFilter", "${step}", "$__interval", "${scope}", cond).Replace(t), nil
	}
	if k.MetricName == "" {
		return "", fmt.Errorf("%w: influxdb query config: metricName (the measurement) is required", metrics.ErrTemplate)
	}
	if len(k.Fields) != 1 {
		return "", fmt.Errorf("%w: influxdb query config: fields %q: name one field (a metric is one series)", metrics.ErrTemplate, k.Fields)
	}
	measurement, err := lang.Escape(k.MetricName, metrics.Place{Quote: '"'})
	if err != nil {
		return "", fmt.Errorf("metricName: %w", err)
	}
	field, err := lang.Escape(k.Fields[0], metrics.Place{Quote: '"'})
	if err != nil {
		return "", fmt.Errorf("fields[0]: %w", err)
	}
	q := fmt.Sprintf(`SELECT mean("%s") FROM "%s" WHERE $timeFilter`, field, measurement)
	if cond != "" {
		q += " AND " + cond
	}
	return q, nil
}

// scopeCondition is Kayenta's scope "tag:value" as an InfluxQL condition,
// or "" for no scope.
func scopeCondition(lang metrics.Language, scope string) (string, error) {
	if scope == "" {
		return "", nil
	}
	tag, value, ok := strings.Cut(scope, ":")
	if !ok || tag == "" {
		return "", fmt.Errorf("%w: influxdb scope %.80q: want tag:value, e.g. autoscaling_group:myapp-prod-v002 (Kayenta's form)", metrics.ErrTemplate, scope)
	}
	t, err := lang.Escape(tag, metrics.Place{Quote: '"'})
	if err != nil {
		return "", fmt.Errorf("scope tag: %w", err)
	}
	v, err := lang.Escape(value, metrics.Place{Quote: '\''})
	if err != nil {
		return "", fmt.Errorf("scope value: %w", err)
	}
	return fmt.Sprintf(`"%s" = '%s'`, t, v), nil
}
