package server

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
)

var (
	fuzzOnce    sync.Once
	fuzzHandler http.Handler
	fuzzClient  judgev1.JudgeServiceClient
	fuzzErr     error
)

// fuzzTarget serves the API from one SQLite store for every fuzz input: the
// HTTP handler in-process and gRPC on a loopback listener.
func fuzzTarget(t *testing.T) (http.Handler, judgev1.JudgeServiceClient) {
	fuzzOnce.Do(func() {
		dir, err := mkdirTemp()
		if err != nil {
			fuzzErr = err
			return
		}
		st, err := store.Open(context.Background(), "", dir)
		if err != nil {
			fuzzErr = err
			return
		}
		limits := Limits{MaxRequestBytes: 1 << 20, MaxMetrics: 20, MaxPoints: 2000}
		m := NewMetrics()
		svc := NewService(st, limits, m, quiet)
		authn := newAuthenticator(nil, false, nil, quiet)
		gs := grpc.NewServer(grpc.MaxRecvMsgSize(limits.MaxRequestBytes),
			grpc.ChainUnaryInterceptor(m.unaryInterceptor, recoverUnary(quiet, m), authn.unary))
		judgev1.RegisterJudgeServiceServer(gs, svc)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fuzzErr = err
			return
		}
		go func() { _ = gs.Serve(ln) }()
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			fuzzErr = err
			return
		}
		fuzzClient = judgev1.NewJudgeServiceClient(conn)
		fuzzHandler, fuzzErr = newHTTPHandler(context.Background(), svc, nil, authn)
	})
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzHandler, fuzzClient
}

var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/analyze"},
	{"POST", "/v1/analyses"},
	{"PUT", "/v1/canaryConfigs/fuzz"},
	{"GET", "/v1/analyses?page_size=7&status=ANALYSIS_STATUS_PENDING"},
	{"POST", "/v1/analyses/x:cancel"},
	{"POST", "/judge"},
	{"POST", "/canary"},
	{"POST", "/canaryConfig"},
	{"POST", "/standalone_canary_analysis"},
	{"POST", "/webhooks/flagger"},
	{"POST", "/webhooks/argo"},
}

// FuzzHTTPRequest sends any body to the HTTP API's write routes: the answer
// is never a 5xx other than 503, and the server never crashes.
func FuzzHTTPRequest(f *testing.F) {
	for _, seed := range []string{analyzeBody(0), analyzeBody(50), poisonBody, `{"config":` + inlineConfig + `}`, `{}`, `{"spec":{"thresholds":{"pass":"NaN"}}}`,
		`{"spec":{"canary_config":{"metrics":[{"name":"a","groups":["g"],"threshold":{"aggregate":"rate","max":1}}]},"metrics":[{"name":"a","control":["Infinity",1],"experiment":["-Infinity","NaN"],"step_seconds":1e-300}]}}`,
		`{"spec":{"canary_config":{"groups":[{"name":"g","weight":1e308}],"metrics":[{"name":"a","groups":["g"]}]},"metrics":[{"name":"a","control":[1e308,-1e308],"experiment":[1,2]}]}}`,
		`{"canaryConfig":{"name":"k","metrics":[{"name":"a","groups":["g"],"analysisConfigurations":{"canary":{}}}],"classifier":{"groupWeights":{"g":100}}},"scoreThresholds":{"pass":95,"marginal":75},"metricSetPairList":[{"name":"a","values":{"control":[1,2,3,"NaN"],"experiment":[4,5,6,"Infinity"]}}]}`,
		`{"canaryConfig":{"name":"k","metrics":[]},"executionRequest":{"scopes":{"default":{"controlScope":{"scope":"a"},"experimentScope":{"scope":"b"}}}}}`,
		`{"name":"podinfo","namespace":"test","phase":"Progressing","metadata":{"config":"x","window":"5m"}}`,
		`{"config":"x","baseline":"a","canary":"b","window":"-1s"}`,
	} {
		for i := range fuzzRoutes {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		h, _ := fuzzTarget(t)
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s: status %d: %s", r.method, r.path, rec.Code, rec.Body.String())
		}
	})
}

// FuzzGRPCRequest sends any AnalyzeRequest that decodes (grpc-go itself
// answers undecodable bytes before judge's code runs) to Analyze and
// CreateAnalysis over gRPC: never INTERNAL or UNKNOWN, never a crash.
func FuzzGRPCRequest(f *testing.F) {
	for _, seed := range []string{analyzeBody(0), analyzeBody(50), poisonBody} {
		req := &judgev1.AnalyzeRequest{}
		if err := unmarshalJSON([]byte(seed), req); err != nil {
			f.Fatal(err)
		}
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, client := fuzzTarget(t)
		req := &judgev1.AnalyzeRequest{}
		if proto.Unmarshal(raw, req) != nil {
			return
		}
		for name, call := range map[string]func() error{
			"Analyze": func() error { _, err := client.Analyze(context.Background(), req); return err },
			"CreateAnalysis": func() error {
				_, err := client.CreateAnalysis(context.Background(), &judgev1.CreateAnalysisRequest{Spec: req.GetSpec()})
				return err
			},
		} {
			if err := call(); status.Code(err) == codes.Internal || status.Code(err) == codes.Unknown {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})
}

func mkdirTemp() (string, error) { return os.MkdirTemp("", "judge-fuzz-") }

func unmarshalJSON(b []byte, m proto.Message) error { return protojson.Unmarshal(b, m) }
