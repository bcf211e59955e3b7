package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Metrics are the service's Prometheus metrics, in their own registry.
type Metrics struct {
	Registry         *prometheus.Registry
	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	analysisDuration prometheus.Histogram
	verdicts         *prometheus.CounterVec
	asyncAnalyses    *prometheus.CounterVec
	panics           prometheus.Counter
}

// NewMetrics registers the service's metrics and the Go and process
// collectors in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "judge_requests_total",
			Help: "API requests by protocol (grpc, http), method and status code.",
		}, []string{"protocol", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "judge_request_duration_seconds",
			Help:    "API request latency by protocol and method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"protocol", "method"}),
		analysisDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "judge_analysis_duration_seconds",
			Help:    "Time the verdict engine takes for one analysis.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "judge_verdicts_total",
			Help: "Verdicts by result (PASS, MARGINAL, FAIL).",
		}, []string{"result"}),
		asyncAnalyses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "judge_async_analyses_total",
			Help: "Asynchronous analyses finished by this replica, by outcome (succeeded, failed, lost).",
		}, []string{"outcome"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "judge_panics_total",
			Help: "Panics recovered in request handlers and workers (each a bug; the stack is logged).",
		}),
	}
	m.Registry.MustRegister(m.requests, m.duration, m.analysisDuration, m.verdicts, m.asyncAnalyses, m.panics,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observeAnalysis(result string, d time.Duration) {
	m.analysisDuration.Observe(d.Seconds())
	m.verdicts.WithLabelValues(result).Inc()
}

func (m *Metrics) observeRequest(protocol, method, code string, d time.Duration) {
	m.requests.WithLabelValues(protocol, method, code).Inc()
	m.duration.WithLabelValues(protocol, method).Observe(d.Seconds())
}

// unaryInterceptor records gRPC request metrics.
func (m *Metrics) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	m.observeRequest("grpc", info.FullMethod, status.Code(err).String(), time.Since(start))
	return resp, err
}

// streamInterceptor records gRPC stream metrics.
func (m *Metrics) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, ss)
	m.observeRequest("grpc", info.FullMethod, status.Code(err).String(), time.Since(start))
	return err
}
