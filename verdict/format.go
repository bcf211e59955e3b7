package verdict

import (
	"math"

	"github.com/canaryjudge/judge/stats"
)

// finite is v, or nil when it is not a finite number (for optional
// statistics).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// fmtFloat writes a number in a reason (stats.FormatNumber: the same
// everywhere judge writes for people).
func fmtFloat(v float64) string { return stats.FormatNumber(v) }
