package kayenta

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/canaryjudge/judge/verdict"
)

// CanaryConfig is a Kayenta CanaryConfig as judge writes it: what Kayenta
// clients read back from GET /canaryConfig/{id}.
type CanaryConfig struct {
	Name         string            `json:"name"`
	Applications []string          `json:"applications"`
	Judge        JudgeRef          `json:"judge"`
	Metrics      []CanaryMetric    `json:"metrics"`
	Templates    map[string]string `json:"templates"`
	Classifier   CanaryClassifier  `json:"classifier"`
}

// JudgeRef names a config's judge.
type JudgeRef struct {
	Name                string         `json:"name"`
	JudgeConfigurations map[string]any `json:"judgeConfigurations"`
}

// CanaryMetric is Kayenta's CanaryMetricConfig.
type CanaryMetric struct {
	Name                   string          `json:"name"`
	Query                  json.RawMessage `json:"query"`
	Groups                 []string        `json:"groups"`
	ScopeName              string          `json:"scopeName"`
	AnalysisConfigurations struct {
		Canary CanaryAnalysis `json:"canary"`
	} `json:"analysisConfigurations"`
}

// CanaryAnalysis is a metric's analysisConfigurations.canary.
type CanaryAnalysis struct {
	Direction    string             `json:"direction"`
	NaNStrategy  string             `json:"nanStrategy"`
	Critical     bool               `json:"critical"`
	MustHaveData bool               `json:"mustHaveData"`
	Muted        bool               `json:"muted"`
	EffectSize   verdict.EffectSize `json:"effectSize"`
	Outliers     *CanaryOutliers    `json:"outliers,omitempty"`
}

// CanaryOutliers is a metric's outlier strategy.
type CanaryOutliers struct {
	Strategy      string  `json:"strategy"`
	OutlierFactor float64 `json:"outlierFactor"`
}

// CanaryClassifier holds group weights and score thresholds.
type CanaryClassifier struct {
	GroupWeights    map[string]float64 `json:"groupWeights"`
	ScoreThresholds verdict.Thresholds `json:"scoreThresholds"`
}

// ToCanaryConfig writes a judge config as a Kayenta CanaryConfig. Each
// metric's query is its Kayenta query when it came from one, else the
// native query of its one source as a custom inline template (PromQL
// prefixed "PromQL:"). A metric with several native sources, or a
// threshold test (which Kayenta has no form for), is an error naming it.
func ToCanaryConfig(cfg *verdict.Config, applications []string) (*CanaryConfig, error) {
	out := &CanaryConfig{
		Name: cfg.Name, Applications: applications, Templates: cfg.Templates,
		Judge:      JudgeRef{Name: verdict.KayentaJudgeName, JudgeConfigurations: map[string]any{}},
		Classifier: CanaryClassifier{GroupWeights: map[string]float64{}, ScoreThresholds: cfg.Thresholds},
	}
	if out.Applications == nil {
		out.Applications = cfg.Applications
	}
	if out.Applications == nil {
		out.Applications = []string{}
	}
	if out.Templates == nil {
		out.Templates = map[string]string{}
	}
	if cfg.Judge == verdict.JudgeKayenta {
		out.Judge.Name = string(verdict.JudgeKayenta)
	}
	for _, g := range cfg.Groups {
		if g.Weight != nil {
			out.Classifier.GroupWeights[g.Name] = *g.Weight
		}
	}
	for i, m := range cfg.Metrics {
		if m.Threshold != nil {
			return nil, fmt.Errorf("metrics[%d] (%s): Kayenta configs have no threshold test", i, m.Name)
		}
		query, err := kayentaQuery(m)
		if err != nil {
			return nil, fmt.Errorf("metrics[%d] (%s): %w", i, m.Name, err)
		}
		km := CanaryMetric{Name: m.Name, Query: query, Groups: m.Groups, ScopeName: m.Scope}
		if km.ScopeName == "" {
			km.ScopeName = "default"
		}
		km.AnalysisConfigurations.Canary = CanaryAnalysis{
			Direction: string(m.Direction), NaNStrategy: m.NaNStrategy, Critical: m.Critical, MustHaveData: m.MustHaveData,
			Muted: m.Muted, EffectSize: m.EffectSize,
		}
		if m.Outliers != nil {
			km.AnalysisConfigurations.Canary.Outliers = &CanaryOutliers{Strategy: "remove", OutlierFactor: m.Outliers.Factor}
		}
		out.Metrics = append(out.Metrics, km)
	}
	return out, nil
}

func kayentaQuery(m verdict.Metric) (json.RawMessage, error) {
	if raw, ok := m.Query["kayenta"]; ok {
		return json.RawMessage(raw), nil
	}
	var sources []string
	for s := range m.Query {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	switch len(sources) {
	case 0:
		return json.RawMessage(`{}`), nil
	case 1:
	default:
		return nil, fmt.Errorf("queries for %v: a Kayenta metric has one", sources)
	}
	tmpl := m.Query[sources[0]]
	if sources[0] == "prometheus" {
		tmpl = "PromQL:" + tmpl
	}
	return json.Marshal(map[string]string{"type": sources[0], "customInlineTemplate": tmpl})
}
