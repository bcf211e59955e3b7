package main

import (
	"context"
	"time"

	"github.com/spf13/viper"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/backtest"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/verdict"
)

// JudgeRecorded names the replay of stored analyses with the judge each
// ran with (no --judge given).
const JudgeRecorded verdict.JudgeName = "recorded"

// maxReplayed bounds the analyses one replay reads, page by page.
const maxReplayed = 100_000

// replayServer re-judges the analyses a judge server stored since --since
// (ReplayAnalyses), with --canary-config as the candidate (each
// analysis' own config without it), once per judge, and reports each
// analysis' candidate verdict with the recorded one beside it and its
// label as the expected verdict.
func replayServer(ctx context.Context, v *viper.Viper, addr string, judges []verdict.JudgeName, thresholds *verdict.Thresholds) (backtest.Report, error) {
	var report backtest.Report
	since := v.GetDuration("since")
	if since <= 0 {
		return report, usageError("--since %s: want a positive duration such as 720h", since)
	}
	req := &judgev1.ReplayAnalysesRequest{Since: timestamppb.New(time.Now().Add(-since)), ConfigName: v.GetString("config-name"),
		LabelledOnly: v.GetBool("labelled-only"), PageSize: 200}
	if path := v.GetString("canary-config"); path != "" {
		raw, err := readBounded(path)
		if err != nil {
			return report, dataError(err)
		}
		if _, err := loadCanaryConfig(path); err != nil {
			return report, dataError(err)
		}
		body, err := configStruct(raw)
		if err != nil {
			return report, dataError(err)
		}
		req.Candidate = &judgev1.ReplayAnalysesRequest_CanaryConfig{CanaryConfig: body}
	}
	if t := thresholds; t != nil {
		req.Thresholds = &judgev1.Thresholds{Pass: t.Pass, Marginal: t.Marginal}
	}
	conn, err := clientSettings(v)
	if err != nil {
		return report, err
	}
	cc, err := dial(addr, conn)
	if err != nil {
		return report, err
	}
	defer cc.Close()
	client := judgev1.NewJudgeServiceClient(cc)
	for _, judge := range judges {
		req.Judge, req.PageToken = string(judge), ""
		if judge == JudgeRecorded {
			req.Judge = ""
		}
		var outcomes []backtest.Outcome
		for {
			callCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			resp, err := client.ReplayAnalyses(callCtx, req)
			cancel()
			if err != nil {
				return report, remoteError(addr, err)
			}
			for _, a := range resp.GetAnalyses() {
				outcomes = append(outcomes, replayedOutcome(a))
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" || len(outcomes) >= maxReplayed {
				break
			}
		}
		report.Judges = append(report.Judges, backtest.JudgeReport{Judge: judge, Cases: outcomes, Summary: backtest.Summarize(outcomes)})
	}
	return report, nil
}

// replayedOutcome is a replayed analysis as a backtest case: the
// candidate's verdict as the result, the recorded one beside it, the
// label as the expected verdict.
func replayedOutcome(a *judgev1.ReplayedAnalysis) backtest.Outcome {
	o := backtest.Outcome{ID: a.GetId(), Source: a.GetCanaryConfigName(), Error: a.GetError()}
	o.Expected, _ = backtest.Label(a.GetLabel()).Expected()
	r := a.GetRecorded()
	o.Recorded = &backtest.Recorded{Judge: verdict.JudgeName(r.GetJudge()), Result: verdict.Outcome(r.GetResult()), Score: r.GetScore()}
	if c := a.GetCandidate(); c != nil {
		o.Result, o.Score = verdict.Outcome(c.GetResult()), c.GetScore()
	} else {
		o.Result = "ERROR"
	}
	return o
}
