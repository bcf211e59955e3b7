package kayenta

import "strings"

// executionStatuses maps judge's analysis states — the names of
// store.Status, and of judge.v1.AnalysisStatus without its prefix, lower
// case — to Kayenta's execution statuses: the one mapping every Kayenta
// surface answers with.
var executionStatuses = map[string]string{
	"pending":   StatusNotStarted,
	"running":   StatusRunning,
	"succeeded": StatusSucceeded,
	"failed":    StatusTerminal,
	"canceled":  StatusCanceled,
}

// StatusOf is Kayenta's execution status (lower case, as Kayenta
// reports Orca's) of an analysis in judge's state; a state judge does not
// know is terminal: no success, and Orca stops on it.
func StatusOf(state string) string {
	if s, ok := executionStatuses[state]; ok {
		return s
	}
	return StatusTerminal
}

// OrcaStatus is StatusOf in Orca's upper-case names (SUCCEEDED,
// TERMINAL), as standalone canary analyses and execution lists carry them.
func OrcaStatus(state string) string { return strings.ToUpper(StatusOf(state)) }

// StateOfOrca is judge's state of an Orca status name (any case), and
// whether judge has one: Orca's other names (PAUSED, SKIPPED, …) match no
// analysis.
func StateOfOrca(name string) (string, bool) {
	for state, s := range executionStatuses {
		if strings.EqualFold(s, name) {
			return state, true
		}
	}
	return "", false
}
