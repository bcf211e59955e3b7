package main

import (
	"errors"
	"fmt"
	"html"
	"os"
	"strings"

	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// writeSummary appends a Markdown summary of a verdict to path: a CI job
// summary (GitHub's $GITHUB_STEP_SUMMARY, a GitLab job's artifact). Metrics
// are listed worst first; names and reasons come from configs and data, so
// every cell is escaped (no table breaks, no HTML).
func writeSummary(path string, res *verdict.Result) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644) //nolint:gosec // the user's summary file
	if err != nil {
		return fmt.Errorf("--summary: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### judge: %s, score %s\n\n%s\n\n", res.Result, stats.FormatNumber(res.Score), cell(res.Reason))
	b.WriteString("| classification | metric | test | adjusted p | shift | reason |\n|---|---|---|---:|---:|---|\n")
	for _, m := range res.WorstFirst() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", m.Classification, cell(m.Name), m.Test,
			optionalNumber(m.AdjustedPValue), optionalNumber(m.Estimate), cell(m.Reason))
	}
	b.WriteString("\n")
	_, err = f.WriteString(b.String())
	return errors.Join(err, f.Close())
}

// cell makes text safe in a Markdown table cell: one line, pipes escaped,
// HTML escaped.
func cell(s string) string {
	s = strings.Join(strings.Fields(printable(s)), " ")
	return strings.ReplaceAll(html.EscapeString(s), "|", `\|`)
}

func optionalNumber(p *float64) string {
	if p == nil {
		return ""
	}
	return stats.FormatNumber(*p)
}
