package analysis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/canaryjudge/judge/metrics"
)

// TestTracing checks the spans of one analysis: "analysis" with a child
// "fetch" per query (metric, side, account, source; a failed fetch has
// status Error) and a child "judge", all in the caller's trace.
func TestTracing(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(provider)
	t.Cleanup(func() { otel.SetTracerProvider(previous) })

	cfg := parseConfig(t, `{"name":"traced","metrics":[
		{"name":"lat","groups":["g"],"query":{"type":"prometheus","customInlineTemplate":"PromQL:lat{pod=\"${scope}\"}"}},
		{"name":"err","groups":["g"],"query":{"type":"prometheus","customInlineTemplate":"PromQL:err{pod=\"${scope}\"}"}}],
		"classifier":{"groupWeights":{"g":100}}}`)
	points := map[string][]metrics.Point{}
	for _, q := range []string{`lat{pod="baseline"}`, `lat{pod="canary"}`} {
		for i := range 10 {
			points[q] = append(points[q], metrics.Point{T: fixtureStart.Add(time.Duration(i) * time.Minute), V: float64(100 + i%3)})
		}
	}
	mem := &metrics.Memory{Points: points, Errors: map[string]error{`err{pod="canary"}`: fmt.Errorf("%w: boom", metrics.ErrUnavailable)}}

	ctx, parent := provider.Tracer("test").Start(context.Background(), "caller")
	if _, err := memoryRunner(mem, "prometheus").Run(ctx, cfg, request("canary", 10), Options{}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	traceID := parent.SpanContext().TraceID()
	var analysisSpan sdktrace.ReadOnlySpan
	fetches, judges, failed := 0, 0, 0
	for _, s := range recorder.Ended() {
		if s.SpanContext().TraceID() != traceID {
			continue
		}
		switch s.Name() {
		case "analysis":
			analysisSpan = s
		}
	}
	if analysisSpan == nil || analysisSpan.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("no analysis span under the caller's")
	}
	for _, s := range recorder.Ended() {
		if s.SpanContext().TraceID() != traceID || s.Parent().SpanID() != analysisSpan.SpanContext().SpanID() {
			continue
		}
		switch s.Name() {
		case "fetch":
			fetches++
			attrs := map[string]string{}
			for _, a := range s.Attributes() {
				attrs[string(a.Key)] = a.Value.String()
			}
			if attrs["judge.account"] != "mem" || attrs["judge.source"] != "prometheus" || attrs["judge.metric"] == "" || attrs["judge.side"] == "" {
				t.Errorf("fetch span attributes %v", attrs)
			}
			if s.Status().Code == codes.Error {
				failed++
				if attrs["judge.metric"] != "err" || attrs["judge.side"] != "canary" {
					t.Errorf("failed fetch %v", attrs)
				}
			}
		case "judge":
			judges++
		}
	}
	if fetches != 4 || judges != 1 || failed != 1 {
		t.Errorf("%d fetch spans (%d failed), %d judge spans; want 4 (1), 1", fetches, failed, judges)
	}
	if got := trace.SpanContextFromContext(ctx); !got.IsValid() {
		t.Error("caller context lost")
	}
}
