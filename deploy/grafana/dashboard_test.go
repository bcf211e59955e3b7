// Package grafana_test checks the Grafana dashboard over judge's own
// metrics: every PromQL expression parses (Prometheus' own promtool) and
// names only metrics judge exports.
package grafana_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/internal/testenv"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
	"github.com/canaryjudge/judge/server"
)

type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// grafanaVars replaces Grafana's variables by values PromQL accepts.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$job", ".*", "$instance", ".*")

func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile("judge-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("judge-dashboard.json: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			exprs = append(exprs, grafanaVars.Replace(target.Expr))
		}
	}
	// Every expression parses: promtool checks them as recording rules.
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		b, _ := json.Marshal(e)
		fmt.Fprintf(&rules, "      - record: dashboard:expr%d\n        expr: %s\n", i, b)
	}
	file := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.NeedsExternal(t, "Prometheus' promtool")
	promtool, err := promtest.Promtool()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil { //nolint:gosec // Debian's promtool
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	// Every metric named is one judge exports; the dashboard covers the
	// requests, verdicts, queue and sources.
	exported := server.MetricNames()
	name := regexp.MustCompile(`\bjudge_[a-z_]+`)
	used := map[string]bool{}
	for _, e := range exprs {
		for _, n := range name.FindAllString(e, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
			if !slices.Contains(exported, base) {
				t.Errorf("%s: judge exports no metric %s (it exports %v)", e, n, exported)
			}
			used[base] = true
		}
	}
	for _, want := range []string{"judge_requests_total", "judge_request_duration_seconds", "judge_verdicts_total", "judge_queue_analyses",
		"judge_queue_oldest_pending_age_seconds", "judge_source_requests_total", "judge_source_request_duration_seconds"} {
		if !used[want] {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}
