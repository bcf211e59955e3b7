package verdict

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// A Judge decides a metric's rank test (threshold tests, the NODATA and
// ERROR rules and scoring are shared by every judge). Judges register by
// name, as Kayenta's CanaryJudge beans do, and a config's judge or
// Options.Judge selects one. A judge works on a metricCase (the prepared
// input and the result being built), so judges live in this package.
type Judge interface {
	// Thins reports whether the judge compares sparse counters by their
	// totals (the series are thinned before they are tested).
	Thins() bool
	// Test classifies one metric's rank test, or leaves the decision to
	// Decide; alpha is the analysis' family-wise level.
	Test(r *metricCase, alpha float64, opts Options)
	// Decide classifies what Test left once every metric is tested (the
	// default judge adjusts the metrics' p-values together).
	Decide(cases []*metricCase, cfg *Config)
}

// The judges this package registers.
var (
	_ Judge = defaultJudge{}
	_ Judge = kayentaJudge{}
)

var (
	judgesMu sync.RWMutex
	judges   = map[JudgeName]Judge{}
)

// Register makes a judge available under name; a second registration of
// a name is a programming error and panics.
func Register(name JudgeName, j Judge) {
	judgesMu.Lock()
	defer judgesMu.Unlock()
	if _, dup := judges[name]; dup {
		panic("verdict: judge " + string(name) + " registered twice")
	}
	judges[name] = j
}

// LookupJudge returns the judge registered under name.
func LookupJudge(name JudgeName) (Judge, bool) {
	judgesMu.RLock()
	defer judgesMu.RUnlock()
	j, ok := judges[name]
	return j, ok
}

// JudgeNames lists the registered judges' names, sorted, as text (for
// flags' help and error messages).
func JudgeNames() []string {
	judgesMu.RLock()
	defer judgesMu.RUnlock()
	names := make([]string, 0, len(judges))
	for n := range judges {
		names = append(names, string(n))
	}
	slices.Sort(names)
	return names
}

// CheckJudge says what is wrong with a judge name, naming the known ones,
// or nil (an empty name keeps the config's).
func CheckJudge(name JudgeName) error {
	if _, ok := LookupJudge(name); ok || name == "" {
		return nil
	}
	return fmt.Errorf("%q is not one of %s", name, strings.Join(JudgeNames(), ", "))
}
