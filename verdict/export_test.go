package verdict

import (
	"encoding/json"
	"os"
	"testing"
)

// Classes and ReadJSON are the helpers below, exported to the external
// tests (scenario_test.go, fuzz_test.go), which parse Kayenta configs
// through the kayenta package.
var (
	Classes  = classes
	ReadJSON = readJSON
)

// classes maps "name" (or "name/test" for metrics with several tests) to
// the classification.
func classes(res *Result) map[string]Classification {
	count := map[string]int{}
	for _, m := range res.Metrics {
		count[m.Name]++
	}
	out := map[string]Classification{}
	for _, m := range res.Metrics {
		key := m.Name
		if count[m.Name] > 1 {
			key += "/" + string(m.Test)
		}
		out[key] = m.Classification
	}
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
