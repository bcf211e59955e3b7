package analysis

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/canaryjudge/judge/tracing"
	"github.com/canaryjudge/judge/verdict"
)

// Judge runs the verdict engine on series already fetched or given: the
// one place judge judges, in a "judge" span, child of ctx's.
func Judge(ctx context.Context, cfg *verdict.Config, pairs []verdict.MetricSetPair, opts verdict.Options) (*verdict.Result, error) {
	_, span := tracing.Tracer().Start(ctx, "judge")
	defer span.End()
	res, err := verdict.Analyze(cfg, pairs, opts)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "invalid analysis")
	}
	return res, err
}

// JudgeInline is a whole analysis of series given inline (the API's
// spec.metrics, Kayenta's remote judge, judge analyze --data): Judge inside
// the "analysis" span, as Runner.Run's analyses of fetched series.
func JudgeInline(ctx context.Context, cfg *verdict.Config, pairs []verdict.MetricSetPair, opts verdict.Options) (*verdict.Result, error) {
	ctx, span := startAnalysis(ctx, cfg)
	res, err := Judge(ctx, cfg, pairs, opts)
	endAnalysis(span, res, err)
	return res, err
}

// startAnalysis opens an analysis' span.
func startAnalysis(ctx context.Context, cfg *verdict.Config) (context.Context, trace.Span) {
	return tracing.Tracer().Start(ctx, "analysis", trace.WithAttributes(
		attribute.String("judge.config", cfg.Name), attribute.Int("judge.metrics", len(cfg.Metrics))))
}

// endAnalysis records an analysis' outcome on its span and ends it.
func endAnalysis(span trace.Span, res *verdict.Result, err error) {
	defer span.End()
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "analysis failed")
		return
	}
	span.SetAttributes(attribute.String("judge.result", string(res.Result)), attribute.Float64("judge.score", res.Score))
}
