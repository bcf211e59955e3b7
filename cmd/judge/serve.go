package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/server"
	"github.com/canaryjudge/judge/tracing"
	"github.com/canaryjudge/judge/verdict"
)

func newServeCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the judge gRPC and HTTP/JSON service",
		Long: `serve runs the judge service: gRPC and HTTP/JSON (under /v1) on one address,
/metrics, /healthz, /readyz and /openapi.json. Canary configs and analyses are
stored in SQLite under --data-dir, or in PostgreSQL with --database-url (or
--database-url-file, or JUDGE_DATABASE_URL) so that several replicas share them.
SIGINT or SIGTERM drains in-flight requests; stored analyses survive restarts.
SIGHUP re-reads the tokens (file and JUDGE_AUTH_TOKENS) and the TLS files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := serverConfig(v)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			server.TuneGC()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			shutdownTracing, err := tracing.Setup(ctx)
			if err != nil {
				return usageError("%w", err)
			}
			defer func() {
				if err := shutdownTracing(context.Background()); err != nil {
					log.Warn("flushing traces", "err", err)
				}
			}()
			if tracing.Enabled() {
				log.Info("tracing on: spans go to the OTLP endpoint of the OTEL_* environment")
			}
			// SIGHUP is caught before the listener opens: a reload sent as
			// soon as the server answers (a deployer's, a test's) must not
			// meet the default action, which ends the process.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			srv, err := server.Start(ctx, cfg, log)
			if err != nil {
				return &exitError{code: exitUnavailable, err: err}
			}
		serving:
			for {
				select {
				case <-ctx.Done():
					log.Info("shutting down: draining requests and analyses in hand", "timeout", cfg.ShutdownTimeout)
					break serving
				case err := <-srv.Err():
					log.Error("listener failed", "err", err)
					break serving
				case <-hup:
					reload(v, srv, log)
				}
			}
			if err := srv.Shutdown(context.Background()); err != nil {
				return &exitError{code: exitInternal, err: fmt.Errorf("shutdown: %w", err)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.String("addr", "127.0.0.1:8080", "address for HTTP/JSON and gRPC")
	f.String("grpc-addr", "", "separate address for gRPC (default: share --addr)")
	f.String("debug-addr", "", "loopback address serving Go's profiles at /debug/pprof/ (off by default; no authentication)")
	f.String("data-dir", "./judge-data", "directory of the embedded SQLite database")
	f.String("database-url", "", "PostgreSQL URL (postgres://…) for shared storage; prefer the env or a file for passwords")
	f.String("database-url-file", "", "file holding the PostgreSQL URL")
	f.Int("max-request-bytes", server.DefaultLimits.MaxRequestBytes, "largest request accepted")
	f.Int("max-metrics", server.DefaultLimits.MaxMetrics, "most metrics per analysis")
	f.Int("max-points", server.DefaultLimits.MaxPoints, "most points per series")
	f.Int("workers", 2, "asynchronous analyses run at once (at least 1)")
	f.Int("max-concurrent-analyses", 0, "synchronous analyses (the API's Analyze, deployer webhooks, Kayenta's remote judge) run at once; more wait, then get 503 with Retry-After (default twice the cores)")
	f.Duration("admission-wait", server.DefaultAdmissionWait, "how long a synchronous analysis waits for a free slot before it is refused")
	f.Duration("lease", 0, "how long a claimed analysis stays with a silent replica (default 15s)")
	f.Int("max-attempts", 3, "claims of one analysis before it is failed (its replica stopped while running it each time)")
	f.Duration("retention", 30*24*time.Hour, "how long finished analyses are kept (0 keeps them)")
	f.String("kayenta-aca-judge", "default", "the judge that serves Kayenta configs naming NetflixACAJudge-v1.0: default (judge's) or kayenta (Kayenta's algorithm, reproduced); every result names both")
	f.Duration("flagger-score-max-age", 5*time.Minute, "how old a Flagger webhook's verdict may be and still be answered by the score query (/api/v1/query) and exported on /metrics")
	f.Duration("shutdown-timeout", 20*time.Second, "how long SIGTERM waits for in-flight requests and analyses")
	f.String("auth-tokens-file", "", "file of role:token[:scope,…] lines (roles read, write, admin; scopes: namespaces or sequence prefixes ending in *); turns authentication on (or set JUDGE_AUTH_TOKENS); SIGHUP re-reads it")
	f.Bool("auth-protect-metrics", false, "require a read token for /metrics")
	f.StringSlice("auth-open-routes", nil, `routes served without a token, for deployers that send none: "METHOD /path" as listed in docs/operations.md, or a preset (argo-kayenta, flagger, metrics)`)
	f.StringSlice("auth-open-paths", nil, "removed: opened every method under a prefix; use --auth-open-routes")
	_ = f.MarkHidden("auth-open-paths")
	f.String("tls-cert", "", "PEM certificate for TLS on gRPC and HTTP (re-read when it changes)")
	f.String("tls-key", "", "PEM private key for --tls-cert")
	f.String("tls-client-ca", "", "PEM CA bundle: require client certificates signed by it (mutual TLS)")
	return cmd
}

// reload serves SIGHUP: new tokens (a revoked one is refused from now on)
// and TLS files. Tokens that cannot be read leave the current ones.
func reload(v *viper.Viper, srv *server.Server, log *slog.Logger) {
	tokens, err := readTokens(v)
	if err == nil {
		err = srv.SetTokens(tokens)
	}
	if err != nil {
		log.Error("SIGHUP: tokens not reloaded; keeping the current ones", "err", err)
	} else {
		log.Info("SIGHUP: reloaded auth tokens", "auth_tokens", tokens.Len())
	}
	if err := srv.ReloadTLS(); err != nil {
		log.Error("SIGHUP: TLS files not reloaded; keeping the current ones", "err", err)
	}
}

// readTokens reads the auth tokens from JUDGE_AUTH_TOKENS and the tokens
// file: at start, and again on SIGHUP.
func readTokens(v *viper.Viper) (*auth.Tokens, error) {
	var out *auth.Tokens
	if env := v.GetString("auth-tokens"); env != "" {
		tokens, err := auth.Parse(env, "JUDGE_AUTH_TOKENS")
		if err != nil {
			return nil, usageError("%w", err)
		}
		out = out.Merge(tokens)
	}
	if path := v.GetString("auth-tokens-file"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usageError("auth-tokens-file: %w", err)
		}
		tokens, err := auth.Parse(string(b), path)
		if err != nil {
			return nil, usageError("%w", err)
		}
		out = out.Merge(tokens)
	}
	return out, nil
}

// serverConfig reads the serve settings from flags, JUDGE_* and the config
// file into one validated server.Config.
func serverConfig(v *viper.Viper) (server.Config, error) {
	cfg := server.Config{
		Addr:        v.GetString("addr"),
		GRPCAddr:    v.GetString("grpc-addr"),
		DebugAddr:   v.GetString("debug-addr"),
		DataDir:     v.GetString("data-dir"),
		DatabaseURL: v.GetString("database-url"),
		Limits: server.Limits{
			MaxRequestBytes: v.GetInt("max-request-bytes"),
			MaxMetrics:      v.GetInt("max-metrics"),
			MaxPoints:       v.GetInt("max-points"),
		},
		Workers:               v.GetInt("workers"),
		MaxConcurrentAnalyses: v.GetInt("max-concurrent-analyses"),
		AdmissionWait:         v.GetDuration("admission-wait"),
		Lease:                 v.GetDuration("lease"),
		MaxAttempts:           v.GetInt("max-attempts"),
		Retention:             v.GetDuration("retention"),
		FlaggerScoreMaxAge:    v.GetDuration("flagger-score-max-age"),
		KayentaACAJudge:       verdict.JudgeName(v.GetString("kayenta-aca-judge")),
		ShutdownTimeout:       v.GetDuration("shutdown-timeout"),
		ProtectMetrics:        v.GetBool("auth-protect-metrics"),
		OpenRoutes:            v.GetStringSlice("auth-open-routes"),
		TLSCert:               v.GetString("tls-cert"),
		TLSKey:                v.GetString("tls-key"),
		TLSClientCA:           v.GetString("tls-client-ca"),
	}
	if old := v.GetStringSlice("auth-open-paths"); len(old) > 0 {
		return cfg, usageError("auth-open-paths: %q opened every method under a path prefix (config writes and ad-hoc analyses included) and is no longer read; "+
			"open exactly the routes a deployer needs with auth-open-routes, e.g. argo-kayenta or \"GET /canary/{id}\"", old)
	}
	accounts, err := metricsAccounts(v)
	if err != nil {
		return cfg, err
	}
	cfg.Accounts = accounts
	if cfg.Workers < 1 {
		return cfg, usageError("workers: %d; want at least 1", cfg.Workers)
	}
	if cfg.MaxAttempts < 1 {
		return cfg, usageError("max-attempts: %d; want at least 1", cfg.MaxAttempts)
	}
	tokens, err := readTokens(v)
	if err != nil {
		return cfg, err
	}
	cfg.Tokens = tokens
	if path := v.GetString("database-url-file"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, usageError("database-url-file: %w", err)
		}
		cfg.DatabaseURL = strings.TrimSpace(string(b))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError("%w", err)
	}
	return cfg, nil
}
