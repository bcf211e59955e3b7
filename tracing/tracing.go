// Package tracing sets up OpenTelemetry tracing for judge: off unless the
// standard OTEL_* environment variables ask for it, then an OTLP/HTTP
// exporter configured by those variables, W3C trace context propagation,
// and the tracer judge's packages start their spans from.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ErrSetup is returned when tracing is asked for but cannot be set up.
var ErrSetup = errors.New("tracing could not be set up")

// Name is the instrumentation scope of judge's spans.
const Name = "github.com/canaryjudge/judge"

// Tracer returns the tracer of judge's spans, from the global provider
// (a no-op until Setup installs one).
func Tracer() trace.Tracer { return otel.Tracer(Name) }

// Enabled reports whether the environment asks for traces: an OTLP
// endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, or OTEL_TRACES_EXPORTER is
// "otlp"; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn them
// off.
func Enabled() bool {
	if os.Getenv("OTEL_SDK_DISABLED") == "true" || os.Getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" ||
		os.Getenv("OTEL_TRACES_EXPORTER") == "otlp"
}

// Setup installs the W3C trace-context propagator and, when Enabled, a
// tracer provider exporting over OTLP/HTTP in batches (endpoint, headers,
// TLS, timeout, sampler and resource all from the standard OTEL_*
// variables; service.name defaults to "judge"). The returned function
// flushes and stops the exporter; it is a no-op when tracing is off.
func Setup(ctx context.Context) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if !Enabled() {
		return func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: OTLP exporter: %w", ErrSetup, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", "judge")))
	if err == nil {
		res, err = resource.Merge(res, resource.Environment())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: resource: %w", ErrSetup, err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(provider)
	return provider.Shutdown, nil
}
