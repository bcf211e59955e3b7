// Package sequence decides a sequence of looks at one canary: the level
// each look is tested at, so that the chance of failing an unchanged
// canary stays at the configured family-wise level over the whole
// sequence, and what a look's verdict decides (fail now, pass, pass early,
// or continue). It is pure: the service stores the sequence, the backtest
// replays it.
package sequence

import (
	"errors"
	"fmt"

	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// Decision is what a look decided for its sequence.
type Decision string

// The decisions of a look.
const (
	// Continue: nothing established; the next look decides.
	Continue Decision = "continue"
	// Fail: a regression was established (at any look), or the last
	// planned look is not PASS.
	Fail Decision = "fail"
	// Pass: the last planned look passed.
	Pass Decision = "pass"
	// PassEarly: before the last look, every metric showed equivalence
	// (verdict.Result.Equivalent), and the sequence allows it.
	PassEarly Decision = "pass_early"
)

// MaxLooks bounds a sequence, planned or open-ended: what the spending can
// carry. At the default level an open-ended look 1,000 is tested at about
// 5·10⁻⁷, where a rank test of a usual window (60 points, strong
// dependence) could detect no shift of a usual allowed size; looks that
// deep are refused as underpowered anyway (Decide).
const MaxLooks = 1000

// Plan is a sequence's spending plan.
type Plan struct {
	// Alpha is the family-wise level over all looks (the config's).
	Alpha float64
	// Looks is the planned number of looks, or 0 when it is not known.
	Looks int
	// PassEarly lets a look before the last pass on equivalence.
	PassEarly bool
}

// Level is the level look k (from 1) is tested at: its Hwang–Shih–DeCani
// share (stats.LookLevel) of a planned sequence, its open-ended share
// (stats.OpenLookLevel) otherwise. A single planned look has all of Alpha.
func (p Plan) Level(look int) float64 {
	if p.Looks > 0 {
		return stats.LookLevel(p.Alpha, look, p.Looks)
	}
	return stats.OpenLookLevel(p.Alpha, look)
}

// Spent is the level spent by looks 1 to k together.
func (p Plan) Spent(look int) float64 {
	if p.Looks > 0 {
		if p.Looks == 1 {
			return p.Alpha
		}
		return stats.SpentLevel(p.Alpha, 0, float64(min(look, p.Looks))/float64(p.Looks))
	}
	k, h := float64(look), float64(stats.OpenHorizon)
	return p.Alpha * k / (k + h)
}

// Last reports whether look k is the last of a planned sequence.
func (p Plan) Last(look int) bool { return p.Looks > 0 && look >= p.Looks }

// Check says what is wrong with a plan for look k, or nil.
func (p Plan) Check(look int) error {
	switch {
	case !(p.Alpha > 0 && p.Alpha < 1):
		return fmt.Errorf("%w: level %v is not in (0, 1)", ErrPlan, p.Alpha)
	case p.Looks < 0 || p.Looks > MaxLooks:
		return fmt.Errorf("%w: %d planned looks: want 0 (open-ended) to %d", ErrPlan, p.Looks, MaxLooks)
	case look < 1 || look > MaxLooks:
		return fmt.Errorf("%w: look %d: want 1 to %d", ErrPlan, look, MaxLooks)
	case p.Looks > 0 && look > p.Looks:
		return fmt.Errorf("%w: look %d of %d planned looks", ErrSpent, look, p.Looks)
	}
	return nil
}

// The errors of this package.
var (
	// ErrPlan is a plan that cannot be followed.
	ErrPlan = errors.New("bad sequence plan")
	// ErrSpent is a look past the planned ones: the level is spent, and
	// a new sequence must start.
	ErrSpent = errors.New("the sequence's planned looks are spent")
)

// Regressed reports whether a verdict established a regression: a FAIL
// with a counted metric significantly higher or lower at the look's level.
// Such a look fails its sequence for good. A FAIL from data that cannot be
// judged yet (NODATA, INCONCLUSIVE, an ERROR fetch) fails that look only.
func Regressed(res *verdict.Result) bool {
	if res.Result != verdict.ResultFail {
		return false
	}
	for _, m := range res.Metrics {
		if !m.Muted && (m.Classification == verdict.High || m.Classification == verdict.Low) {
			return true
		}
	}
	return false
}

// Decide decides look k from its verdict, judged at p.Level(k) (with
// verdict.Options.Equivalence when p.PassEarly), and explains it: how much
// of the level is spent and what the next look is tested at. A PASS that
// could not have detected a metric's allowed effect at the look's level
// (verdict.Result.Powered: a metric left INCONCLUSIVE for it, critical or
// not) is no PASS: Decide makes it MARGINAL, and the sequence continues,
// or fails on its last look; underpowered says so.
func (p Plan) Decide(look int, res *verdict.Result) (d Decision, why string, underpowered bool) {
	spent := fmt.Sprintf("look %d%s tested at level %.3g, %.3g of %.3g spent", look, p.of(), p.Level(look), p.Spent(look), p.Alpha)
	next := fmt.Sprintf("; the next look is tested at %.3g", p.Level(look+1))
	if res.Result != verdict.ResultFail {
		if ok, short := res.Powered(); !ok {
			if res.Result == verdict.ResultPass {
				res.Result = verdict.ResultMarginal
				res.Reason = "underpowered, so not a pass: " + short + ". " + res.Reason
			}
			if p.Last(look) {
				return Fail, spent + ": the last look could not have detected an allowed effect (" + short + "); only a powered PASS passes", true
			}
			return Continue, spent + ": no regression established, but this look could not have detected an allowed effect (" + short + "), so it does not pass" + next, true
		}
	}
	switch {
	case Regressed(res):
		return Fail, spent + ": a regression is established, so the sequence fails", false
	case p.Last(look) && res.Result == verdict.ResultPass:
		return Pass, spent + ": the last look passes", false
	case p.Last(look):
		return Fail, spent + ": the last look is " + string(res.Result) + "; only PASS passes", false
	}
	if p.PassEarly && res.Result == verdict.ResultPass {
		if ok, why := res.Equivalent(); ok {
			return PassEarly, spent + ": equivalence established early: " + why, false
		}
	}
	if res.Result == verdict.ResultFail {
		return Continue, spent + ": this look fails, but no regression is established at its level" + next, false
	}
	return Continue, spent + ": no regression established" + next, false
}

func (p Plan) of() string {
	if p.Looks > 0 {
		return fmt.Sprintf(" of %d", p.Looks)
	}
	return " (open-ended)"
}
