package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
)

// TestTraceContext checks that an analysis requested over HTTP or gRPC with
// a W3C traceparent is traced as a child of the caller's span, with its
// result as attributes.
func TestTraceContext(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	previousProvider, previousPropagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(previousProvider)
		otel.SetTextMapPropagator(previousPropagator)
	})
	s := startServer(t, Config{})

	const (
		httpTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		grpcTrace = "0af7651916cd43dd8448eb211c80319c"
		parent    = "00f067aa0ba902b7"
	)
	req, err := http.NewRequest("POST", "http://"+s.Addr()+"/v1/analyze", strings.NewReader(analyzeBody(1)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+httpTrace+"-"+parent+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("analyze: %d", resp.StatusCode)
	}

	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	areq := &judgev1.AnalyzeRequest{}
	if err := protojson.Unmarshal([]byte(analyzeBody(1)), areq); err != nil {
		t.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", "00-"+grpcTrace+"-"+parent+"-01")
	if _, err := judgev1.NewJudgeServiceClient(conn).Analyze(ctx, areq); err != nil {
		t.Fatal(err)
	}

	found := map[string]bool{}
	for _, span := range recorder.Ended() {
		if span.Name() != "analysis" {
			continue
		}
		id := span.SpanContext().TraceID().String()
		if span.Parent().SpanID().String() != parent {
			continue
		}
		result := ""
		for _, a := range span.Attributes() {
			if a.Key == "judge.result" {
				result = a.Value.AsString()
			}
		}
		if result == "" {
			t.Errorf("analysis span of trace %s has no result", id)
		}
		found[id] = true
	}
	if !found[httpTrace] || !found[grpcTrace] {
		t.Errorf("analysis spans under the callers' traces: %v", found)
	}
}
