package kayenta

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/canaryjudge/judge/verdict"
)

// kayentaConfig is the part of Spinnaker Kayenta's CanaryConfig that judging
// reads (kayenta-core CanaryConfig.java, CanaryMetricConfig.java).
type kayentaConfig struct {
	Name         string   `json:"name"`
	Applications []string `json:"applications"`
	Judge        *struct {
		Name string `json:"name"`
	} `json:"judge"`
	Metrics []struct {
		Name                   string          `json:"name"`
		Query                  json.RawMessage `json:"query"`
		Groups                 []string        `json:"groups"`
		ScopeName              string          `json:"scopeName"`
		AnalysisConfigurations struct {
			Canary kayentaMetricConfig `json:"canary"`
		} `json:"analysisConfigurations"`
	} `json:"metrics"`
	Classifier struct {
		GroupWeights    map[string]float64  `json:"groupWeights"`
		ScoreThresholds *verdict.Thresholds `json:"scoreThresholds"`
	} `json:"classifier"`
	Templates map[string]string `json:"templates"`
}

// kayentaMetricConfig is analysisConfigurations.canary of a Kayenta metric.
type kayentaMetricConfig struct {
	Direction    string              `json:"direction"`
	NaNStrategy  string              `json:"nanStrategy"`
	Critical     bool                `json:"critical"`
	MustHaveData bool                `json:"mustHaveData"`
	Muted        bool                `json:"muted"`
	EffectSize   *verdict.EffectSize `json:"effectSize"`
	Outliers     *struct {
		Strategy      string   `json:"strategy"`
		OutlierFactor *float64 `json:"outlierFactor"`
	} `json:"outliers"`
}

// IsConfig reports whether data is a Kayenta CanaryConfig: a JSON
// object with a classifier, a judge object or metrics carrying
// analysisConfigurations.
func IsConfig(data []byte) bool {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false
	}
	var probe struct {
		Judge      json.RawMessage `json:"judge"`
		Classifier json.RawMessage `json:"classifier"`
		Metrics    []struct {
			AnalysisConfigurations json.RawMessage `json:"analysisConfigurations"`
		} `json:"metrics"`
	}
	if json.Unmarshal(trimmed, &probe) != nil {
		return false
	}
	if len(probe.Classifier) > 0 || (len(probe.Judge) > 0 && probe.Judge[0] == '{') {
		return true
	}
	for _, m := range probe.Metrics {
		if len(m.AnalysisConfigurations) > 0 {
			return true
		}
	}
	return false
}

// ConfigFromJSON converts a Kayenta CanaryConfig to judge's config and
// validates it. Unknown fields are ignored, as Kayenta does.
func ConfigFromJSON(data []byte, source string) (*verdict.Config, error) {
	cfg, err := convert(data, source, verdict.JudgeDefault)
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Validate(source)
}

// ParseConfig parses a canary config: a Spinnaker Kayenta CanaryConfig
// (JSON, detected by its analysisConfigurations, classifier or judge
// object) or judge's native format (verdict.ParseConfig). A Kayenta
// config naming NetflixACAJudge-v1.0 runs judge's default judge.
func ParseConfig(data []byte, source string) (*verdict.Config, error) {
	return ParseConfigServing(data, source, verdict.JudgeDefault)
}

// ParseConfigServing is ParseConfig with the judge that serves a Kayenta
// config naming NetflixACAJudge-v1.0 (or no judge, or the remote judge):
// judge serve's kayenta-aca-judge setting. The config records the name it
// gave (Config.KayentaJudge), so every result says which judge served it.
func ParseConfigServing(data []byte, source string, aca verdict.JudgeName) (*verdict.Config, error) {
	if IsConfig(data) {
		cfg, err := convert(data, source, aca)
		if err != nil {
			return nil, err
		}
		return cfg, cfg.Validate(source)
	}
	return verdict.ParseConfig(data, source)
}

func convert(data []byte, source string, aca verdict.JudgeName) (*verdict.Config, error) {
	var k kayentaConfig
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w: Kayenta canary config: %s", source, verdict.ErrInvalidConfig, verdict.JSONErrorText(err))
	}
	// Every Kayenta config names NetflixACAJudge-v1.0 (the only judge Kayenta
	// ships), so that name does not pick the algorithm: aca, the server's
	// kayenta-aca-judge setting (judge's default judge unless set), runs it
	// unless judge.name is one of judge's own or --judge is given.
	cfg := &verdict.Config{Name: k.Name, Judge: aca, Applications: k.Applications, KayentaJudge: verdict.KayentaJudgeName}
	if len(k.Templates) > 0 {
		cfg.Templates = k.Templates
	}
	if k.Judge != nil {
		switch _, registered := verdict.LookupJudge(verdict.JudgeName(k.Judge.Name)); {
		case k.Judge.Name == verdict.KayentaJudgeName, k.Judge.Name == verdict.RemoteJudgeName, k.Judge.Name == "":
			cfg.KayentaJudge = cmp.Or(k.Judge.Name, verdict.KayentaJudgeName)
		case registered:
			cfg.Judge, cfg.KayentaJudge = verdict.JudgeName(k.Judge.Name), ""
		default:
			return nil, fmt.Errorf("%s: %w: judge.name: unable to resolve canary judge %q (want %s, %s or one of judge's: %s)",
				source, verdict.ErrInvalidConfig, k.Judge.Name, verdict.KayentaJudgeName, verdict.RemoteJudgeName, strings.Join(verdict.JudgeNames(), ", "))
		}
	}
	if t := k.Classifier.ScoreThresholds; t != nil {
		cfg.Thresholds = *t
	}
	var groups []string
	for _, m := range k.Metrics {
		for _, g := range m.Groups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	for g := range k.Classifier.GroupWeights {
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	for _, g := range groups {
		grp := verdict.Group{Name: g}
		if w, ok := k.Classifier.GroupWeights[g]; ok {
			grp.Weight = &w
		}
		cfg.Groups = append(cfg.Groups, grp)
	}
	for _, km := range k.Metrics {
		c := km.AnalysisConfigurations.Canary
		m := verdict.Metric{
			Name:         km.Name,
			Groups:       km.Groups,
			Scope:        km.ScopeName,
			Tests:        []verdict.Test{verdict.TestMannWhitney},
			Direction:    verdict.Direction(strings.ToLower(c.Direction)),
			Critical:     c.Critical,
			MustHaveData: c.MustHaveData,
			Muted:        c.Muted,
			NaNStrategy:  strings.ToLower(c.NaNStrategy),
		}
		switch m.Direction {
		case verdict.DirectionIncrease, verdict.DirectionDecrease, verdict.DirectionEither:
		default:
			m.Direction = verdict.DirectionEither // Kayenta reads an unknown direction as either
		}
		if len(km.Query) > 0 {
			m.Query = map[string]string{"kayenta": string(km.Query)}
		}
		if c.EffectSize != nil {
			m.EffectSize = *c.EffectSize
		}
		if o := c.Outliers; o != nil && strings.EqualFold(o.Strategy, "remove") {
			m.Outliers = &verdict.Outliers{Factor: 3}
			if o.OutlierFactor != nil {
				m.Outliers.Factor = *o.OutlierFactor
			}
		}
		cfg.Metrics = append(cfg.Metrics, m)
	}
	return cfg, nil
}
