package server

import (
	"context"
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
	"google.golang.org/grpc/status"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
)

// Config configures a judge server. The zero value of every field but Addr
// and DataDir takes a default.
type Config struct {
	// Addr serves HTTP/JSON and, unless GRPCAddr is set, gRPC.
	Addr string
	// GRPCAddr, when set, serves gRPC on its own listener.
	GRPCAddr string
	// DataDir holds the SQLite database when DatabaseURL is empty.
	DataDir string
	// DatabaseURL selects PostgreSQL (postgres://…); it may hold a password
	// and is never logged.
	DatabaseURL string
	// Limits bound requests.
	Limits Limits
	// Workers is the number of asynchronous analyses run at once.
	Workers int
	// Lease is how long a claimed analysis stays with a worker without a
	// renewal; a dead replica's analyses are picked up after it.
	Lease time.Duration
	// Poll is how often an idle worker looks for work.
	Poll time.Duration
	// ShutdownTimeout bounds the drain of in-flight requests.
	ShutdownTimeout time.Duration
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
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Workers < 0 {
		problems = append(problems, "workers: must be positive")
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
	store      *store.Store
	httpServer *http.Server
	grpcServer *grpc.Server
	httpLn     net.Listener
	grpcLn     net.Listener
	stopWork   context.CancelFunc
	workers    sync.WaitGroup
	serveErr   chan error
	log        *slog.Logger
}

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
	metrics := NewMetrics()
	svc := NewService(st, cfg.Limits, metrics, log)
	grpcServer := grpc.NewServer(
		grpc.MaxRecvMsgSize(cfg.Limits.MaxRequestBytes),
		grpc.ChainUnaryInterceptor(metrics.unaryInterceptor, recoverUnary(log)),
		grpc.ChainStreamInterceptor(metrics.streamInterceptor, recoverStream(log)),
	)
	judgev1.RegisterJudgeServiceServer(grpcServer, svc)

	s := &Server{cfg: cfg, store: st, grpcServer: grpcServer, serveErr: make(chan error, 2), log: log}
	shared := grpcServer
	if cfg.GRPCAddr != "" {
		shared = nil
	}
	handler, err := newHTTPHandler(context.WithoutCancel(ctx), svc, shared)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.httpServer = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if s.httpLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on addr %s: %w", cfg.Addr, err)
	}
	if cfg.GRPCAddr != "" {
		if s.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
			s.httpLn.Close()
			st.Close()
			return nil, fmt.Errorf("listen on grpc-addr %s: %w", cfg.GRPCAddr, err)
		}
		go func() { s.serveErr <- grpcServer.Serve(s.grpcLn) }()
	}
	go func() {
		if err := s.httpServer.Serve(s.httpLn); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- err
		}
	}()

	workCtx, stop := context.WithCancel(context.Background())
	s.stopWork = stop
	host, _ := os.Hostname()
	for i := range cfg.Workers {
		w := &worker{svc: svc, owner: fmt.Sprintf("%s-%d-%p-%d", host, os.Getpid(), s, i), lease: cfg.Lease, poll: cfg.Poll, log: log}
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			w.run(workCtx)
		}()
	}
	log.Info("judge serving", "addr", s.httpLn.Addr().String(), "grpc_addr", s.GRPCAddr(), "database", st.Dialect(), "workers", cfg.Workers)
	return s, nil
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

// Err delivers an error if a listener fails.
func (s *Server) Err() <-chan error { return s.serveErr }

// Shutdown stops accepting requests, drains in-flight ones, lets each worker
// finish the analysis in hand and closes the database. Pending analyses stay
// stored and are run after a restart or by another replica.
func (s *Server) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	s.stopWork()
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
	s.workers.Wait()
	return errors.Join(httpErr, s.store.Close())
}

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic in gRPC handler", "method", info.FullMethod, "panic", v)
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic in gRPC handler", "method", info.FullMethod, "panic", v)
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}
