package server

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	jmetrics "github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/version"
)

// Metrics are the service's Prometheus metrics, in their own registry.
type Metrics struct {
	Registry         *prometheus.Registry
	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	analysisDuration prometheus.Histogram
	verdicts         *prometheus.CounterVec
	asyncAnalyses    *prometheus.CounterVec
	shadows          *prometheus.CounterVec
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
		shadows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "judge_shadow_verdicts_total",
			Help: "Shadow verdicts by config, shadow (judge:NAME or config:NAME), the enforced result and the shadow's (ERROR when it could not judge): where they differ, the shadow would have decided otherwise.",
		}, []string{"config", "shadow", "enforced", "shadowed"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "judge_panics_total",
			Help: "Panics recovered in request handlers and workers (each a bug; the stack is logged).",
		}),
	}
	build := version.Get()
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "judge_build_info",
		Help: "Always 1; the labels say which build of judge is running.",
		ConstLabels: prometheus.Labels{"version": build.Version, "commit": build.Commit, "commit_date": build.Date,
			"goversion": build.GoVersion},
	})
	info.Set(1)
	m.Registry.MustRegister(m.requests, m.duration, m.analysisDuration, m.verdicts, m.asyncAnalyses, m.shadows, m.panics, info,
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

// unaryInterceptor records gRPC request metrics and takes the caller's
// trace context from the request's metadata.
func (m *Metrics) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		ctx = otel.GetTextMapPropagator().Extract(ctx, metadataCarrier(md))
	}
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

// queueCollector reports the analysis queue from the store at each scrape:
// judge_queue_analyses{status="pending"|"running"} and
// judge_queue_oldest_pending_age_seconds. A store that does not answer
// within a second reports nothing (the scrape still succeeds).
type queueCollector struct {
	state  func(context.Context) (store.Queue, error)
	now    func() time.Time
	depth  *prometheus.Desc
	oldest *prometheus.Desc
}

func newQueueCollector(state func(context.Context) (store.Queue, error)) *queueCollector {
	return &queueCollector{
		state: state, now: time.Now,
		depth: prometheus.NewDesc("judge_queue_analyses", "Asynchronous analyses in the queue by status (pending, running), across replicas.",
			[]string{"status"}, nil),
		oldest: prometheus.NewDesc("judge_queue_oldest_pending_age_seconds", "Age of the oldest analysis waiting for a replica (0 when none waits).",
			nil, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	q, err := c.state(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(q.Pending), "pending")
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(q.Running), "running")
	age := 0.0
	if !q.OldestPending.IsZero() {
		age = max(c.now().Sub(q.OldestPending).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}

// canaryCollector exports Flagger canaries' latest verdicts from the
// database, so that every replica exports the same values and a restart
// loses none: judge_canary_verdict (1 when the webhook passed the canary,
// else 0) and judge_canary_score (for charts), for canaries judged within
// the score's maximum age. Flagger's own Prometheus can scrape them.
type canaryCollector struct {
	list    func(ctx context.Context, since time.Time, limit int) ([]store.FlaggerVerdict, error)
	now     func() time.Time
	maxAge  time.Duration
	verdict *prometheus.Desc
	score   *prometheus.Desc
}

// maxExportedCanaries bounds the canaries exported.
const maxExportedCanaries = 10_000

func newCanaryCollector(list func(context.Context, time.Time, int) ([]store.FlaggerVerdict, error), maxAge time.Duration) *canaryCollector {
	return &canaryCollector{
		list: list, now: time.Now, maxAge: maxAge,
		verdict: prometheus.NewDesc("judge_canary_verdict", "Latest verdict of a Flagger canary's webhook: 1 when it passed the canary, 0 when not (what to decide on).",
			[]string{"namespace", "name"}, nil),
		score: prometheus.NewDesc("judge_canary_score", "Score of a Flagger canary's latest verdict (for charts: a FAIL can score high).",
			[]string{"namespace", "name"}, nil),
	}
}

func (c *canaryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.verdict
	ch <- c.score
}

func (c *canaryCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	list, err := c.list(ctx, c.now().Add(-c.maxAge), maxExportedCanaries)
	if err != nil {
		return
	}
	for _, v := range list {
		passed := 0.0
		if v.Passed {
			passed = 1
		}
		ch <- prometheus.NewMetricWithTimestamp(v.JudgedAt, prometheus.MustNewConstMetric(c.verdict, prometheus.GaugeValue, passed, v.Namespace, v.Name))
		ch <- prometheus.NewMetricWithTimestamp(v.JudgedAt, prometheus.MustNewConstMetric(c.score, prometheus.GaugeValue, v.Score, v.Namespace, v.Name))
	}
}

// MetricNames lists the names of every metric the service exports (its
// own, the metrics sources' and the queue's; not the Go and process
// collectors'), for dashboards and alerts to be checked against.
func MetricNames() []string {
	cs := []prometheus.Collector{newQueueCollector(nil), newCanaryCollector(nil, 0)}
	m := NewMetrics()
	cs = append(cs, m.requests, m.duration, m.analysisDuration, m.verdicts, m.asyncAnalyses, m.panics)
	cs = append(cs, jmetrics.NewInstruments().Collectors()...)
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	var names []string
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// metadataCarrier reads and writes W3C trace context in gRPC metadata.
type metadataCarrier metadata.MD

func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
