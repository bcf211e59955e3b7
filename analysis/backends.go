package analysis

import (
	"github.com/canaryjudge/judge/metrics"
	_ "github.com/canaryjudge/judge/metrics/all" // registers every shipped metrics source
)

// backend is one registered metrics source type (metrics.Register).
func backend(typ string) (metrics.Backend, bool) { return metrics.Lookup(typ) }

// backendTypes lists the source types, sorted.
func backendTypes() []string { return metrics.Types() }
