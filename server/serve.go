package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/auth"
	jmetrics "github.com/canaryjudge/judge/metrics"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/server/kayentaapi"
	"github.com/canaryjudge/judge/server/webhook"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
	"github.com/canaryjudge/judge/version"
)

// Config configures a judge server. The zero value of every field but Addr
// and DataDir takes a default.
type Config struct {
	// Addr serves HTTP/JSON and, unless GRPCAddr is set, gRPC.
	Addr string
	// GRPCAddr, when set, serves gRPC on its own listener.
	GRPCAddr string
	// DebugAddr, when set, serves Go's profiles (/debug/pprof/) on a
	// loopback listener of its own, without authentication.
	DebugAddr string
	// DataDir holds the SQLite database when DatabaseURL is empty.
	DataDir string
	// DatabaseURL selects PostgreSQL (postgres://…); it may hold a password
	// and is never logged.
	DatabaseURL string
	// Limits bound requests.
	Limits Limits
	// Workers is the number of asynchronous analyses run at once.
	Workers int
	// MaxConcurrentAnalyses bounds the synchronous analyses (Analyze, the
	// deployer webhooks, Kayenta's remote judge) run at once (default twice
	// the cores); AdmissionWait is how long one waits for a slot before it
	// is refused with 503 and Retry-After (default 5s).
	MaxConcurrentAnalyses int
	AdmissionWait         time.Duration
	// Lease is how long a claimed analysis stays with a worker without a
	// renewal; a dead replica's analyses are picked up after it.
	Lease time.Duration
	// Poll is how often an idle worker looks for work.
	Poll time.Duration
	// ShutdownTimeout bounds the drain of in-flight requests and of the
	// analyses in hand; analyses still running then are left to be claimed
	// again.
	ShutdownTimeout time.Duration
	// MaxAttempts is how often an analysis is claimed before it is failed
	// (its replica stopped while running it each time); default 3.
	MaxAttempts int
	// Retention is how long finished analyses are kept; 0 keeps them
	// forever. RetentionInterval is how often they are swept (default 1h).
	Retention, RetentionInterval time.Duration
	// Tokens, when any, turn authentication on: every API request needs a
	// bearer token whose role allows it.
	Tokens *auth.Tokens
	// ProtectMetrics requires a read token for /metrics.
	ProtectMetrics bool
	// OpenRoutes are the routes served without a token even when
	// authentication is on, for deployers that send no credentials: route
	// patterns as "GET /canary/{id}" (exactly one method and path) or the
	// presets argo-kayenta, flagger and metrics. Config writes, deletes,
	// ad-hoc analyses and /v1 can never be opened.
	OpenRoutes []string
	// TLSCert and TLSKey serve gRPC and HTTP over TLS; TLSClientCA also
	// requires client certificates signed by it (mutual TLS). The files are
	// re-read when they change.
	TLSCert, TLSKey, TLSClientCA string

	// Accounts are the metrics accounts analyses given scopes fetch from.
	Accounts []jmetrics.Account

	// ProbeInterval is how often the database is written to for /readyz
	// (default 5s): a database that cannot be written makes the replica
	// unready.
	ProbeInterval time.Duration

	// KayentaACAJudge is the judge that serves Kayenta configs naming
	// NetflixACAJudge-v1.0: "default" (judge's, the default) or "kayenta"
	// (Kayenta's own algorithm, reproduced). Results name both.
	KayentaACAJudge verdict.JudgeName
	// FlaggerScoreMaxAge is how old a Flagger webhook's verdict may be and
	// still be answered by the score query and exported (default 5m).
	FlaggerScoreMaxAge time.Duration

	// beforeJudge, when set (by tests), runs before each analysis is judged.
	beforeJudge func(context.Context, *judgev1.AnalysisSpec)
}

// TuneGC makes the garbage collector run less often than Go's default
// (GOGC=400 instead of 100) unless GOGC is set: analyses allocate many
// short-lived values and memory is cheaper than the CPU the collector takes.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// Validate fills defaults and checks the config, naming the bad setting.
func (c *Config) Validate() error {
	var problems []string
	if c.Addr == "" {
		problems = append(problems, "addr: missing")
	}
	if u := c.DatabaseURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		scheme, _, found := strings.Cut(u, "://")
		if !found {
			scheme = "none"
		}
		problems = append(problems, fmt.Sprintf("database-url: want postgres://… (the password is not shown), got scheme %q", scheme))
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		problems = append(problems, "data-dir: missing (needed without database-url)")
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits
	}
	if c.Limits.MaxRequestBytes <= 0 || c.Limits.MaxMetrics <= 0 || c.Limits.MaxPoints <= 0 {
		problems = append(problems, "limits: max-request-bytes, max-metrics and max-points must be positive")
	}
	if c.Limits.MaxPoints > verdict.MaxSeriesPoints {
		problems = append(problems, fmt.Sprintf("max-points: %d; at most %d (what a stored series can be read back with)", c.Limits.MaxPoints, verdict.MaxSeriesPoints))
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Workers < 0 {
		problems = append(problems, "workers: must be positive")
	}
	if c.MaxConcurrentAnalyses == 0 {
		c.MaxConcurrentAnalyses = DefaultMaxConcurrentAnalyses
	}
	if c.MaxConcurrentAnalyses < 0 {
		problems = append(problems, "max-concurrent-analyses: must be positive")
	}
	if c.AdmissionWait == 0 {
		c.AdmissionWait = DefaultAdmissionWait
	}
	if c.AdmissionWait < 0 {
		problems = append(problems, "admission-wait: must not be negative")
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.MaxAttempts < 1 {
		problems = append(problems, "max-attempts: must be at least 1")
	}
	if c.Retention < 0 {
		problems = append(problems, "retention: must not be negative (0 keeps analyses)")
	}
	if c.KayentaACAJudge == "" {
		c.KayentaACAJudge = verdict.JudgeDefault
	}
	if err := verdict.CheckJudge(c.KayentaACAJudge); err != nil {
		problems = append(problems, fmt.Sprintf("kayenta-aca-judge: %v", err))
	}
	if c.FlaggerScoreMaxAge == 0 {
		c.FlaggerScoreMaxAge = webhook.DefaultScoreMaxAge
	}
	if c.FlaggerScoreMaxAge < 0 {
		problems = append(problems, "flagger-score-max-age: must be positive")
	}
	if c.RetentionInterval == 0 {
		c.RetentionInterval = time.Hour
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, "tls-cert and tls-key: set both or neither")
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		problems = append(problems, "tls-client-ca: needs tls-cert and tls-key")
	}
	if _, err := resolveOpenRoutes(c.OpenRoutes); err != nil {
		problems = append(problems, err.Error())
	}
	if c.Lease == 0 {
		c.Lease = 15 * time.Second
	}
	if c.Lease < 100*time.Millisecond {
		problems = append(problems, "lease: must be at least 100ms")
	}
	if c.Poll == 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = 5 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 20 * time.Second
	}
	if len(problems) > 0 {
		return fmt.Errorf("server config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Server is a running judge server.
type Server struct {
	cfg        Config
	authn      *authenticator
	reloader   *certReloader
	store      *store.Store
	httpServer *http.Server
	grpcServer *grpc.Server
	httpLn     net.Listener
	grpcLn     net.Listener
	debugLn    net.Listener
	debug      *http.Server
	stopWork   context.CancelFunc
	abortWork  context.CancelFunc
	workers    sync.WaitGroup
	serveErr   chan error
	log        *slog.Logger
}

// maxStreamWorkers caps the gRPC stream workers (grpc.NumStreamWorkers).
const maxStreamWorkers = 256

// Start opens the database (running migrations), starts the listeners and
// the workers, and returns the running server.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dbKind(cfg), err)
	}
	var reloader *certReloader
	if cfg.TLSCert != "" {
		if reloader, err = newCertReloader(cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA, log); err != nil {
			_ = st.Close()
			return nil, err
		}
	}
	metrics := NewMetrics()
	metrics.Registry.MustRegister(newQueueCollector(st.QueueState), newCanaryCollector(st.FlaggerVerdicts, cfg.FlaggerScoreMaxAge))
	svc := NewService(st, cfg.Limits, metrics, log)
	svc.scoreMaxAge = cfg.FlaggerScoreMaxAge
	svc.configs.aca = cfg.KayentaACAJudge
	svc.beforeJudge = cfg.beforeJudge
	svc.admit = newAdmission(cfg.MaxConcurrentAnalyses, cfg.AdmissionWait)
	if len(cfg.Accounts) > 0 {
		instruments := jmetrics.NewInstruments()
		metrics.Registry.MustRegister(instruments.Collectors()...)
		sources, err := analysis.NewSources(cfg.Accounts, instruments)
		if err != nil {
			_ = st.Close()
			return nil, err
		}
		svc.runner = &analysis.Runner{Sources: sources, Log: log, Limits: cfg.Limits}
	}
	open, err := resolveOpenRoutes(cfg.OpenRoutes)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	authn := newAuthenticator(cfg.Tokens, cfg.ProtectMetrics, open, log)
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.Limits.MaxRequestBytes),
		// Workers serve the streams, as many as analyses may run and
		// wait for admission at once (at most maxStreamWorkers, so a
		// large max-concurrent-analyses does not park that many
		// goroutines at start): a worker's goroutine keeps the stack a
		// judged request grows, where a goroutine per stream grew it
		// again every time (5% of the server's CPU under judge-bench).
		// Streams beyond them get their own goroutine.
		grpc.NumStreamWorkers(uint32(min(2*cfg.MaxConcurrentAnalyses, maxStreamWorkers))), //nolint:gosec // positive, at most maxStreamWorkers
		grpc.ChainUnaryInterceptor(metrics.unaryInterceptor, recoverUnary(log, metrics), authn.unary),
		grpc.ChainStreamInterceptor(metrics.streamInterceptor, recoverStream(log, metrics), authn.stream),
	}
	if reloader != nil && cfg.GRPCAddr != "" {
		opts = append(opts, grpc.Creds(credentials.NewTLS(reloader.tlsConfig())))
	}
	grpcServer := grpc.NewServer(opts...)
	judgev1.RegisterJudgeServiceServer(grpcServer, svc)

	s := &Server{cfg: cfg, authn: authn, reloader: reloader, store: st, grpcServer: grpcServer, serveErr: make(chan error, 2), log: log}
	shared := grpcServer
	if cfg.GRPCAddr != "" {
		shared = nil
	}
	handler, err := newHTTPHandler(context.WithoutCancel(ctx), svc, shared, authn)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	s.httpServer = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, Protocols: protocols(reloader != nil),
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if s.httpLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("listen on addr %s: %w", cfg.Addr, err)
	}
	if cfg.GRPCAddr != "" {
		if s.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
			_ = s.httpLn.Close()
			_ = st.Close()
			return nil, fmt.Errorf("listen on grpc-addr %s: %w", cfg.GRPCAddr, err)
		}
		go func() { s.serveErr <- grpcServer.Serve(s.grpcLn) }()
	}
	if cfg.DebugAddr != "" {
		if s.debugLn, err = listenDebug(cfg.DebugAddr); err != nil {
			_ = s.httpLn.Close()
			if s.grpcLn != nil {
				_ = s.grpcLn.Close()
			}
			_ = st.Close()
			return nil, err
		}
		s.debug = newDebugServer()
		go func() { _ = s.debug.Serve(s.debugLn) }()
	}
	httpLn := s.httpLn
	if reloader != nil {
		httpLn = tls.NewListener(httpLn, reloader.tlsConfig())
	}
	go func() {
		if err := s.httpServer.Serve(httpLn); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- err
		}
	}()

	workCtx, stop := context.WithCancel(context.Background())
	abortCtx, abort := context.WithCancel(context.Background())
	s.stopWork, s.abortWork = stop, abort
	host, _ := os.Hostname()
	for i := range cfg.Workers {
		w := &analysis.Worker{
			Queue: st, Judge: svc.judgeStored, Owner: fmt.Sprintf("%s-%d-%p-%d", host, os.Getpid(), s, i),
			Lease: cfg.Lease, Poll: cfg.Poll, MaxAttempts: cfg.MaxAttempts, Log: log,
			Finished: svc.finished, Panicked: metrics.panics.Inc,
		}
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			w.Run(workCtx, abortCtx)
		}()
	}
	sched := &kayentaapi.Scheduler{Store: st, Service: svc, Owner: fmt.Sprintf("%s-%d-%p-standalone", host, os.Getpid(), s), Poll: cfg.Poll, Log: log}
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		sched.Run(workCtx)
	}()
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		svc.probe(workCtx, cfg.ProbeInterval)
	}()
	if cfg.Retention > 0 {
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			s.sweep(workCtx)
		}()
	}
	for _, addr := range []string{s.Addr(), s.GRPCAddr()} {
		if !cfg.Tokens.Enabled() && !isLoopback(addr) {
			log.Warn("listening on a non-loopback address without authentication: anyone who can reach it can run and delete analyses and configs; set auth tokens", "addr", addr)
		}
	}
	build := version.Get()
	log.Info("judge serving", "version", build.Version, "commit", build.Commit, "commit_date", build.Date, "go", build.GoVersion, "addr", s.Addr(), "grpc_addr", s.GRPCAddr(), "database", st.Dialect(), "workers", cfg.Workers,
		"tls", reloader != nil, "mutual_tls", cfg.TLSClientCA != "", "auth_tokens", cfg.Tokens.Len())
	return s, nil
}

// sweep deletes, every RetentionInterval, what is older than the
// retention in every table that grows: finished analyses (in batches),
// sequences not looked at within it, finished standalone analyses, and
// Flagger canaries and revisions not called within it.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(s.cfg.RetentionInterval)
	defer t.Stop()
	for {
		cut := time.Now().Add(-s.cfg.Retention)
		for _, table := range []struct {
			what   string
			delete func() (int, error)
		}{
			{"finished analyses", func() (int, error) { return s.store.DeleteFinished(ctx, cut, 500) }},
			{"sequences", func() (int, error) { return s.store.DeleteSequences(ctx, cut) }},
			{"standalone analyses", func() (int, error) { return s.store.DeleteStandaloneFinished(ctx, cut) }},
			{"flagger canaries and verdicts", func() (int, error) { return s.store.DeleteFlagger(ctx, cut) }},
		} {
			n, err := table.delete()
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("delete past retention", "what", table.what, "err", err)
			case n > 0:
				s.log.Info("deleted past retention", "what", table.what, "count", n, "retention", s.cfg.Retention)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func dbKind(cfg Config) string {
	if cfg.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite"
}

// Addr is the HTTP (and shared gRPC) address.
func (s *Server) Addr() string { return s.httpLn.Addr().String() }

// GRPCAddr is the gRPC address: its own listener's, or Addr.
func (s *Server) GRPCAddr() string {
	if s.grpcLn != nil {
		return s.grpcLn.Addr().String()
	}
	return s.Addr()
}

// ErrTokensEmpty is returned by SetTokens for an empty token list while
// authentication is on: a tokens file emptied by mistake must not open the
// service to everyone.
var ErrTokensEmpty = errors.New("the new token list is empty: authentication stays on with the current tokens (to turn it off, remove the tokens and restart)")

// SetTokens replaces the accepted tokens for every request from now on. An
// empty list while authentication is on is refused (ErrTokensEmpty).
func (s *Server) SetTokens(t *auth.Tokens) error {
	if !t.Enabled() && s.authn.enabled() {
		return ErrTokensEmpty
	}
	s.authn.tokens.Store(t)
	return nil
}

// ReloadTLS re-reads the TLS certificate, key and client CA now (they are
// also re-read when they change); nil without TLS. A failed reload keeps
// the current ones.
func (s *Server) ReloadTLS() error {
	if s.reloader == nil {
		return nil
	}
	return s.reloader.reload()
}

// Err delivers an error if a listener fails.
func (s *Server) Err() <-chan error { return s.serveErr }

// Shutdown stops accepting requests, drains in-flight ones, lets each worker
// finish the analysis in hand and closes the database, all within
// ShutdownTimeout: analyses still running then are abandoned (their leases
// expire and any replica claims them again). Pending analyses stay stored
// and are run after a restart or by another replica.
func (s *Server) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	s.stopWork()
	if s.debug != nil {
		_ = s.debug.Close()
	}
	httpErr := s.httpServer.Shutdown(ctx)
	stopped := make(chan struct{})
	go func() {
		s.grpcServer.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpcServer.Stop()
	}
	workersDone := make(chan struct{})
	go func() {
		s.workers.Wait()
		close(workersDone)
	}()
	select {
	case <-workersDone:
	case <-ctx.Done():
		s.abortWork()
		s.log.Warn("shutdown timeout: abandoning the analyses in hand to be claimed again")
		select {
		case <-workersDone:
		case <-time.After(5 * time.Second):
		}
	}
	s.abortWork()
	return errors.Join(httpErr, s.store.Close())
}

func recoverUnary(log *slog.Logger, m *Metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if v := recover(); v != nil {
				m.panics.Inc()
				log.Error("panic in gRPC handler", "method", info.FullMethod, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger, m *Metrics) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if v := recover(); v != nil {
				m.panics.Inc()
				log.Error("panic in gRPC handler", "method", info.FullMethod, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}
