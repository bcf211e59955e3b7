// Package all registers every metrics backend judge ships: importing it
// (for its side effects) makes their account types and query keys known
// (metrics.Register), and tells the verdict engine which query keys name a
// source. Adding a source is its package and one line here.
package all

import (
	"slices"

	"github.com/canaryjudge/judge/metrics"
	_ "github.com/canaryjudge/judge/metrics/datadog"    // registers "datadog"
	_ "github.com/canaryjudge/judge/metrics/graphite"   // registers "graphite"
	_ "github.com/canaryjudge/judge/metrics/influxdb"   // registers "influxdb"
	_ "github.com/canaryjudge/judge/metrics/newrelic"   // registers "newrelic"
	_ "github.com/canaryjudge/judge/metrics/prometheus" // registers "prometheus"
	"github.com/canaryjudge/judge/verdict"
)

func init() {
	verdict.SetQuerySources(func() []string { return slices.Concat(metrics.Types(), []string{verdict.KayentaQuery}) })
}
