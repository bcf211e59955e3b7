package kayenta

import "testing"

// TestExecutionStatus pins the one mapping of judge's states to Kayenta's
// and Orca's status names, both ways.
func TestExecutionStatus(t *testing.T) {
	for state, want := range map[string]string{"pending": "not_started", "running": "running", "succeeded": "succeeded", "failed": "terminal", "canceled": "canceled", "odd": "terminal"} {
		if got := StatusOf(state); got != want {
			t.Errorf("%s: %s, want %s", state, got, want)
		}
	}
	if OrcaStatus("failed") != "TERMINAL" || OrcaStatus("pending") != "NOT_STARTED" {
		t.Errorf("Orca names: %s %s", OrcaStatus("failed"), OrcaStatus("pending"))
	}
	for name, want := range map[string]string{"TERMINAL": "failed", "succeeded": "succeeded", "NOT_STARTED": "pending"} {
		if got, ok := StateOfOrca(name); !ok || got != want {
			t.Errorf("%s: %s %v, want %s", name, got, ok, want)
		}
	}
	if _, ok := StateOfOrca("PAUSED"); ok {
		t.Error("PAUSED has a state")
	}
}
