package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/server/kayentaapi"
	"github.com/canaryjudge/judge/server/webhook"
)

// newHTTPHandler serves the HTTP/JSON API under /v1, /metrics, /healthz,
// /readyz and /openapi.json. With grpcServer set, gRPC requests on the same
// port (HTTP/2, see protocols) are handed to it. Every /v1 request
// is counted in judge_requests_total, including those refused for their
// token or size and those whose handler panicked.
func newHTTPHandler(ctx context.Context, svc *Service, grpcServer *grpc.Server, authn *authenticator) (http.Handler, error) {
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &apiJSON{runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
		// The method routed is the method authorised: no
		// X-HTTP-Method-Override, no form POST read as a GET.
		runtime.WithDisableHTTPMethodOverride(),
		runtime.WithDisablePathLengthFallback(),
		runtime.WithMiddlewares(routeLabel, authn.authorizeGateway(gatewayMethods())),
		runtime.WithErrorHandler(retryAfter),
	)
	if err := judgev1.RegisterJudgeServiceHandlerServer(ctx, gw, svc); err != nil {
		return nil, fmt.Errorf("register gateway: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", svc.observeHTTP(authn.authenticated(svc.admitAnalyze(svc.limitBody(bareConfig(gw))))))
	mux.Handle("GET /v1/{$}", apiIndex())
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	routes := routeTable(kayentaapi.Deps{
		Service: svc, Observe: svc.metrics.observeAnalysis, Accounts: svc.accounts, VerdictResult: protoconv.VerdictFromProto, MaxBodyBytes: int64(svc.limits.MaxRequestBytes), MaxMetrics: svc.limits.MaxMetrics,
		Standalone: svc.store, Validate: svc.validate, MetricNames: svc.metricNames, Admit: svc.admitRemoteJudge,
		Differences: func(raw []byte) []string { return kayenta.Differences(raw, svc.configs.aca) },
	}, webhook.Deps{Service: svc, MaxBodyBytes: int64(svc.limits.MaxRequestBytes), Verdicts: svc.store, ScoreMaxAge: svc.scoreMaxAge,
		Record: svc.analyzeRecorded})
	for _, rt := range routes {
		if rt.Pattern == "POST /judge" {
			// Kayenta's remote judge carries its series: admitted before
			// its body is read.
			rt.Handler = svc.admitHTTP(rt.Handler)
		}
		_, path, _ := strings.Cut(rt.Pattern, " ")
		mux.Handle(rt.Pattern, svc.observeHTTP(labelled(path, authn.route(rt))))
	}
	metrics := promhttp.HandlerFor(svc.metrics.Registry, promhttp.HandlerOpts{})
	if authn.protectMetrics {
		metrics = authn.route(auth.Route{Pattern: metricsPattern, Role: auth.RoleRead, Handler: metrics})
	}
	mux.Handle("/ui/", svc.observeHTTP(labelled("ui", authn.ui(svc.uiHandler()))))
	mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", svc.ready)
	openAPI := openAPIDocument()
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	root := recoverPanics(svc.log, svc.metrics, mux)
	if grpcServer == nil {
		return root, nil
	}
	return SharedPort(grpcServer, root), nil
}

// protocols are the HTTP versions served: HTTP/1.1, and HTTP/2 over TLS or,
// without TLS, cleartext HTTP/2 with prior knowledge (what gRPC clients
// speak).
func protocols(tlsOn bool) *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	if tlsOn {
		p.SetHTTP2(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	return p
}

// retryAfter is the gateway's error handler: UNAVAILABLE (judge busy, the
// database down) carries Retry-After.
func retryAfter(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if status.Code(err) == codes.Unavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

type routeKey struct{}

// labelled names the route of requests to next in the request metrics.
func labelled(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			*p = route
		}
		next.ServeHTTP(w, r)
	})
}

// routeLabel records the gateway route that matched, for observeHTTP.
func routeLabel(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			if route, ok := r.Context().Value(routeKey{}).(*string); ok {
				*route = p.String()
			}
		}
		next(w, r, params)
	}
}

// observeHTTP records request metrics for the API and turns a panic into a
// counted 500 without detail.
func (s *Service) observeHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The caller's trace context (W3C traceparent) parents the spans
		// of the analysis.
		r = r.WithContext(otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
		start := time.Now()
		route := "unmatched"
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				s.metrics.panics.Inc()
				s.log.Error("panic in HTTP handler", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !rec.wrote {
					writeJSONError(rec, http.StatusInternalServerError, codes.Internal, "internal error")
				}
				rec.code = http.StatusInternalServerError
			}
			s.metrics.observeRequest("http", r.Method+" "+route, fmt.Sprint(rec.code), time.Since(start))
		}()
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
	})
}

// limitBody refuses a body larger than the request limit with 413 and the
// RESOURCE_EXHAUSTED code the API documents, before the gateway reads it.
func (s *Service) limitBody(next http.Handler) http.Handler {
	limit := int64(s.limits.MaxRequestBytes)
	tooLarge := func(w http.ResponseWriter) {
		writeJSONError(w, http.StatusRequestEntityTooLarge, codes.ResourceExhausted,
			fmt.Sprintf("request body larger than the limit of %d bytes", limit))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			tooLarge(w)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			var buf bytes.Buffer
			if r.ContentLength > 0 {
				buf.Grow(int(r.ContentLength) + 1) // bytes.Buffer reads until EOF, needing one more byte to see it
			}
			if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
				writeJSONError(w, http.StatusBadRequest, codes.InvalidArgument, "request body could not be read")
				return
			}
			if int64(buf.Len()) > limit {
				tooLarge(w)
				return
			}
			r.Body = boundedBody{bytes.NewReader(buf.Bytes()), buf.Bytes()}
		}
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code, s.wrote = code, true
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// recoverPanics turns a panic outside the API (health, metrics) into a 500
// with no detail, logged and counted.
func recoverPanics(log *slog.Logger, m *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				m.panics.Inc()
				log.Error("panic in HTTP handler", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeJSONError(w, http.StatusInternalServerError, codes.Internal, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// apiJSON is the gateway's JSON, protojson both ways. Its request decoder
// hands the body (read and bounded by limitBody) to protojson at once,
// where runtime.JSONPb's first scans it with encoding/json to find the
// message's end: a request is parsed once, and data after the message is
// refused rather than ignored. Its encoder writes a message into a buffer
// sized from the message once, where runtime.JSONPb's grows one and then
// copies it into another.
type apiJSON struct{ runtime.JSONPb }

// Marshal encodes v, a message with protojson into a presized buffer.
func (m *apiJSON) Marshal(v any) ([]byte, error) {
	msg, ok := v.(proto.Message)
	if !ok {
		return m.JSONPb.Marshal(v)
	}
	// JSON spells a message in at most about twice its binary size (field
	// names, quotes, shortest float text); 512 covers the smallest.
	return m.MarshalAppend(make([]byte, 0, 2*proto.Size(msg)+512), msg)
}

// boundedBody is a request body limitBody has read: a reader of its bytes,
// which the decoder takes whole without copying them.
type boundedBody struct {
	*bytes.Reader
	all []byte
}

func (boundedBody) Close() error { return nil }

// wholeBody returns what r holds: limitBody's bytes as they are (when
// nothing was read from them yet), or what r reads.
func wholeBody(r io.Reader) ([]byte, error) {
	if b, ok := r.(boundedBody); ok && b.Len() == len(b.all) {
		return b.all, nil
	}
	return io.ReadAll(r)
}

// NewDecoder reads the whole body and unmarshals it.
func (m *apiJSON) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := wholeBody(r)
		if err != nil {
			return err
		}
		if msg, ok := v.(proto.Message); ok {
			return m.UnmarshalOptions.Unmarshal(data, msg)
		}
		return m.Unmarshal(data, v)
	})
}

// bareConfig lets PUT /v1/canaryConfigs/{name} take the config itself as
// its body, as users naturally send it, besides the API's wrapped form
// {"config": {...}}: a JSON object without a "config" key is wrapped. The
// body was read and bounded by limitBody before.
func bareConfig(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, "/v1/canaryConfigs/") || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, codes.InvalidArgument, "request body could not be read")
			return
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil && fields != nil {
			if _, wrapped := fields["config"]; !wrapped {
				body = append(append([]byte(`{"config":`), body...), '}')
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}
