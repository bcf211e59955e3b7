package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/canaryjudge/judge/backtest"
	"github.com/canaryjudge/judge/verdict"
)

// writeSyntheticTables prints the synthetic summaries: A/A false fails per
// noise model and ρ, detection per regression, and the power curve.
// fewCases is the number of cases below which a rate is flagged: with
// fewer than 20, its 95% interval is ±20 points or wider.
const fewCases = 20

// rateText prints a rate, flagged with † when it rests on fewer than
// fewCases cases (and *flagged set).
func rateText(rate float64, cases int, format string, flagged *bool) string {
	text := fmt.Sprintf(format, 100*rate)
	if cases < fewCases {
		*flagged = true
		text += "†"
	}
	return text
}

func writeSyntheticTables(out io.Writer, s backtest.Summary) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	flagged := false
	if len(s.ByNoise) > 0 {
		fmt.Fprintln(tw, "  A/A NOISE\tRHO\tCASES\tFALSE FAILS\tRATE")
		for _, n := range s.ByNoise {
			fmt.Fprintf(tw, "  %s\t%g\t%d\t%d\t%s\n", n.Noise, n.Rho, n.Controls, n.FalseFails, rateText(n.FalseFailRate, n.Controls, "%.1f%%", &flagged))
		}
		fmt.Fprintln(tw)
	}
	if len(s.ByKind) > 0 {
		fmt.Fprintln(tw, "  KIND\tSIZE\tNOISE\tCASES\tDETECTED\tRATE")
		for _, k := range s.ByKind {
			fmt.Fprintf(tw, "  %s\t%g\t%s\t%d\t%d\t%s\n", k.Kind, k.Size, k.Noise, k.Cases, k.Detected, rateText(k.Rate, k.Cases, "%.0f%%", &flagged))
		}
		fmt.Fprintln(tw)
	}
	if len(s.PowerCurve) > 0 {
		fmt.Fprintln(tw, "  LEVEL SHIFT\tRHO\tCASES\tDETECTED\tRATE\tPARAMETRIC LIMIT")
		for _, p := range s.PowerCurve {
			fmt.Fprintf(tw, "  ×%g\t%g\t%d\t%d\t%s\t%.0f%%\n", p.Size, p.Rho, p.Cases, p.Detected, rateText(p.Rate, p.Cases, "%.0f%%", &flagged), 100*p.Parametric)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.PowerCurve) > 0 {
		fmt.Fprintln(out, "  PARAMETRIC LIMIT: what a test that knew the noise's distribution, variance and autocorrelation would detect")
		fmt.Fprintln(out, "  (a z-test of mean log levels at 0.05/20); no test that must estimate them reaches it.")
	}
	if flagged {
		fmt.Fprintf(out, "  † fewer than %d cases: the rate is a rough guide (its 95%% interval is ±20 points or wider); add --cases.\n", fewCases)
	}
	return nil
}

func writeBacktestText(out io.Writer, report backtest.Report) error {
	for _, j := range report.Judges {
		fmt.Fprintf(out, "judge %s: %s\n", j.Judge, j.Summary)
		if err := writeSyntheticTables(out, j.Summary); err != nil {
			return err
		}
		if len(j.Summary.Metrics) > 0 {
			if err := writeIncidentTables(out, j); err != nil {
				return err
			}
		}
		if err := writeChangedVerdicts(out, j); err != nil {
			return err
		}
		for _, o := range j.Cases {
			if o.Error != "" {
				fmt.Fprintf(out, "  %s: %s\n", printable(o.ID), printable(o.Error))
			}
		}
		fmt.Fprintln(out)
	}
	if a := report.Advice; a != nil {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FAMILY-WISE LEVEL\tMARGINAL\tRECALL\tFALSE FAILS")
		for _, s := range a.Settings {
			fmt.Fprintf(tw, "%g\t%g\t%.1f%%\t%.1f%%\n", s.FamilyWiseError, s.Marginal, 100*s.Recall, 100*s.FalseFailRate)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if r := a.Recommended; r != nil {
			fmt.Fprintf(out, "recommended (false fails at most %.1f%%): familyWiseError %g, thresholds.marginal %g — recall %.1f%%, false fails %.1f%%\n",
				100*a.Target, r.FamilyWiseError, r.Marginal, 100*r.Recall, 100*r.FalseFailRate)
		} else {
			fmt.Fprintf(out, "no setting keeps false fails at most %.1f%%\n", 100*a.Target)
		}
	}
	return nil
}

// writeIncidentTables prints an incidents backtest's exact intervals,
// recall and false flags per metric, and the cases the judge got wrong.
func writeIncidentTables(out io.Writer, j backtest.JudgeReport) error {
	s := j.Summary
	pct := func(i backtest.Interval) string { return fmt.Sprintf("[%.0f%%, %.0f%%]", 100*i[0], 100*i[1]) }
	fmt.Fprintf(out, "  recall %.1f%% %s, false fails %.1f%% %s (exact 95%% intervals)\n", 100*s.Recall, pct(s.RecallInterval), 100*s.FalseFailRate, pct(s.FalseFailInterval))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  METRIC\tREGRESSIONS FLAGGED\tRECALL (95%)\tGOOD FLAGGED\tRATE (95%)")
	for _, m := range s.Metrics {
		fmt.Fprintf(tw, "  %s\t%d of %d\t%.0f%% %s\t%d of %d\t%.0f%% %s\n", printable(m.Name), m.Flagged, m.Incidents, 100*m.Recall, pct(m.RecallInterval),
			m.FalseFlags, m.Controls, 100*m.FalseFlagRate, pct(m.FalseFlagInterval))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var wrong []string
	for _, o := range j.Cases {
		if o.Error == "" && o.Result != o.Expected {
			label := backtest.LabelGood
			if o.Expected == verdict.ResultFail {
				label = backtest.LabelRegression
			}
			wrong = append(wrong, fmt.Sprintf("  %s: %s, judged %s (score %.0f)", printable(o.ID), label, o.Result, o.Score))
		}
	}
	if len(wrong) > 0 {
		fmt.Fprintf(out, "  cases judged otherwise than labelled (%d):\n%s\n", len(wrong), strings.Join(wrong, "\n"))
	}
	return nil
}

// writeChangedVerdicts prints, for stored analyses replayed, the
// intervals of the labelled ones and every analysis whose candidate
// verdict differs from the recorded one.
func writeChangedVerdicts(out io.Writer, j backtest.JudgeReport) error {
	replayed := slices.ContainsFunc(j.Cases, func(o backtest.Outcome) bool { return o.Recorded != nil })
	if !replayed {
		return nil
	}
	s := j.Summary
	fmt.Fprintf(out, "  %d analyses replayed, %d unlabelled; %d verdicts changed\n", len(j.Cases), s.Unlabelled, s.Changed)
	if s.Incidents+s.Controls > 0 {
		pct := func(i backtest.Interval) string { return fmt.Sprintf("[%.0f%%, %.0f%%]", 100*i[0], 100*i[1]) }
		fmt.Fprintf(out, "  labelled: recall %.1f%% %s, false fails %.1f%% %s (exact 95%% intervals)\n", 100*s.Recall, pct(s.RecallInterval), 100*s.FalseFailRate, pct(s.FalseFailInterval))
	}
	if s.Changed == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ANALYSIS\tCONFIG\tLABEL\tRECORDED\tCANDIDATE")
	for _, o := range j.Cases {
		if o.Recorded == nil || o.Recorded.Result == o.Result {
			continue
		}
		label := "-"
		switch o.Expected {
		case verdict.ResultFail:
			label = string(backtest.LabelRegression)
		case verdict.ResultPass:
			label = string(backtest.LabelGood)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s %.0f\t%s %.0f\n", printable(o.ID), printable(o.Source), label, o.Recorded.Result, o.Recorded.Score, o.Result, o.Score)
	}
	return tw.Flush()
}
