package analysis

import (
	"slices"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/datadog"
	"github.com/canaryjudge/judge/metrics/newrelic"
	"github.com/canaryjudge/judge/metrics/prometheus"
)

// backend is one metrics source type: each backend package exports the
// same names, and this table is the one place that lists them.
type backend struct {
	// New builds the account's client.
	New func(metrics.Account, *metrics.Instruments) (metrics.Source, error)
	// Language escapes scope values for the query language; Verbatim
	// substitutes them as they are (an account with raw scopes).
	Language, Verbatim metrics.Language
	// FromKayenta renders a Kayenta query object of the source's type.
	FromKayenta func(lang metrics.Language, raw []byte, templates, vars map[string]string) (string, error)
	// Window is the span each point of a rendered query reads.
	Window func(query string) time.Duration
}

// backends are the metrics sources by type (metrics.Account.Type).
var backends = map[string]backend{
	metrics.TypePrometheus: {
		New:      func(a metrics.Account, in *metrics.Instruments) (metrics.Source, error) { return prometheus.New(a, in) },
		Language: prometheus.Language, Verbatim: prometheus.Verbatim, FromKayenta: prometheus.FromKayentaWith, Window: prometheus.Window,
	},
	metrics.TypeDatadog: {
		New:      func(a metrics.Account, in *metrics.Instruments) (metrics.Source, error) { return datadog.New(a, in) },
		Language: datadog.Language, Verbatim: datadog.Verbatim, FromKayenta: datadog.FromKayentaWith, Window: datadog.Window,
	},
	metrics.TypeNewRelic: {
		New:      func(a metrics.Account, in *metrics.Instruments) (metrics.Source, error) { return newrelic.New(a, in) },
		Language: newrelic.Language, Verbatim: newrelic.Verbatim, FromKayenta: newrelic.FromKayentaWith, Window: newrelic.Window,
	},
}

// backendTypes lists the source types, sorted.
func backendTypes() []string {
	types := make([]string, 0, len(backends))
	for t := range backends {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}
