package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/canaryjudge/judge/auth"
)

// authenticator checks bearer tokens on gRPC and HTTP requests and puts
// the caller (auth.Caller) in the request's context for ownership checks.
// With no tokens configured every request is allowed. The tokens can be
// replaced while serving (SIGHUP re-reads the tokens file).
type authenticator struct {
	tokens atomic.Pointer[auth.Tokens]
	// protectMetrics requires a read token for /metrics.
	protectMetrics bool
	// open are the route patterns served without a token.
	open map[string]bool
	log  *slog.Logger
}

func newAuthenticator(tokens *auth.Tokens, protectMetrics bool, open map[string]bool, log *slog.Logger) *authenticator {
	a := &authenticator{protectMetrics: protectMetrics, open: open, log: log}
	a.tokens.Store(tokens)
	return a
}

// enabled reports whether authentication is on.
func (a *authenticator) enabled() bool { return a.tokens.Load().Enabled() }

// check authorises an Authorization header value for need and returns the
// caller it authenticates (the zero Caller with authentication off).
func (a *authenticator) check(header string, need auth.Role, where string) (auth.Caller, error) {
	tokens := a.tokens.Load()
	if !tokens.Enabled() {
		return auth.Caller{}, nil
	}
	tok, err := tokens.Check(header, need)
	if err != nil {
		// The token itself is never logged, only which configured one matched.
		a.log.Info("request refused", "where", where, "reason", err, "token", tok.Name)
		return auth.Caller{}, err
	}
	return auth.CallerOf(tok), nil
}

func (a *authenticator) grpcCheck(ctx context.Context, method string) (context.Context, error) {
	need := roleOf(method)
	var header string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authorization"); len(v) > 0 {
			header = v[0]
		}
	}
	caller, err := a.check(header, need, method)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return ctx, status.Error(codes.Unauthenticated, err.Error())
	case errors.Is(err, auth.ErrPermissionDenied):
		return ctx, status.Errorf(codes.PermissionDenied, "%v: %s needs the %s role", err, method, need)
	}
	return auth.WithCaller(ctx, caller), nil
}

func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := a.grpcCheck(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a *authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.grpcCheck(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &callerStream{ServerStream: ss, ctx: ctx})
}

// callerStream is a server stream whose context carries the caller.
type callerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *callerStream) Context() context.Context { return s.ctx }

// route serves one route of the table: without a token when the operator
// opened it (and it may be opened: the caller is then anonymous and owns
// nothing), else only for a token whose role allows the route's operation.
// A route that takes its token from the URL (Flagger's webhook, which
// cannot send headers) accepts one there, if it is scoped to namespaces.
func (a *authenticator) route(rt auth.Route) http.Handler {
	if a.open[rt.Pattern] && !rt.Closed && rt.Role != auth.RoleAdmin {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			caller := auth.Caller{Anonymous: a.enabled()}
			rt.Handler.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), caller)))
		})
	}
	if rt.URLToken {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" && r.URL.Query().Has("token") {
				caller, ok := a.allowHeader(w, r, "Bearer "+r.URL.Query().Get("token"), rt.Role)
				if !ok {
					return
				}
				if !caller.Scoped() && a.enabled() {
					a.log.Info("request refused", "where", r.Method+" "+r.URL.Path, "reason", "unscoped token in a URL")
					writeJSONError(w, http.StatusForbidden, codes.PermissionDenied,
						"a token given in the URL must be scoped to namespaces (role:token:namespace in the tokens file): a URL is stored in the deployer's resources, readable by more people than a Secret")
					return
				}
				rt.Handler.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), caller)))
				return
			}
			a.require(rt.Role, rt.Handler).ServeHTTP(w, r)
		})
	}
	return a.require(rt.Role, rt.Handler)
}

// require serves next only for a token whose role allows need: 401
// without a valid token, 403 when its role does not allow the operation,
// as JSON in the gateway's error shape.
func (a *authenticator) require(need auth.Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if caller, ok := a.allow(w, r, need); ok {
			next.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), caller)))
		}
	})
}

// allow checks r's token for need and answers 401 or 403 when it fails.
func (a *authenticator) allow(w http.ResponseWriter, r *http.Request, need auth.Role) (auth.Caller, bool) {
	return a.allowHeader(w, r, r.Header.Get("Authorization"), need)
}

func (a *authenticator) allowHeader(w http.ResponseWriter, r *http.Request, header string, need auth.Role) (auth.Caller, bool) {
	caller, err := a.check(header, need, r.Method+" "+r.URL.Path)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="judge"`)
		writeJSONError(w, http.StatusUnauthorized, codes.Unauthenticated, err.Error())
		return caller, false
	case errors.Is(err, auth.ErrPermissionDenied):
		writeJSONError(w, http.StatusForbidden, codes.PermissionDenied, fmt.Sprintf("%v: %s %s needs the %s role", err, r.Method, r.URL.Path, need))
		return caller, false
	}
	return caller, true
}

// authenticated serves the /v1 API to any valid token (401 otherwise) and
// passes its caller, with its role, on to authorizeGateway, which checks
// the role against the RPC the gateway matched.
func (a *authenticator) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens := a.tokens.Load()
		if !tokens.Enabled() {
			next.ServeHTTP(w, r)
			return
		}
		tok, err := tokens.Check(r.Header.Get("Authorization"), auth.RoleRead)
		if err != nil {
			a.allow(w, r, auth.RoleRead)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), auth.CallerOf(tok))))
	})
}

// authorizeGateway is the gateway middleware that checks the token's role
// against the role of the RPC the request's route maps to: the operation,
// not the HTTP method, decides (and with method override off, the method
// seen here is the one routed).
func (a *authenticator) authorizeGateway(methods map[string]string) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			if a.enabled() {
				key := r.Method
				if p, ok := runtime.HTTPPattern(r.Context()); ok {
					key += " " + p.String()
				}
				need := roleOf(methods[key])
				if !auth.CallerFrom(r.Context()).Role.Allows(need) {
					a.log.Info("request refused", "where", r.Method+" "+r.URL.Path, "reason", auth.ErrPermissionDenied)
					writeJSONError(w, http.StatusForbidden, codes.PermissionDenied,
						fmt.Sprintf("%v: %s %s needs the %s role", auth.ErrPermissionDenied, r.Method, r.URL.Path, need))
					return
				}
			}
			next(w, r, params)
		}
	}
}

// writeJSONError writes an error in grpc-gateway's JSON shape.
func writeJSONError(w http.ResponseWriter, httpCode int, code codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	body, _ := json.Marshal(struct {
		Code    codes.Code `json:"code"`
		Message string     `json:"message"`
		Details []any      `json:"details"`
	}{code, msg, []any{}})
	_, _ = w.Write(body)
}

// isLoopback reports whether addr (host:port) listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// certReloader serves the certificate and key files (and the client CA
// file, for mutual TLS), re-reading them when they change on disk: at most
// once a second, on the next handshake.
type certReloader struct {
	certFile, keyFile, caFile string

	mu       sync.Mutex
	checked  time.Time
	stamp    string
	cert     *tls.Certificate
	clientCA *x509.CertPool
	log      *slog.Logger
}

func newCertReloader(certFile, keyFile, caFile string, log *slog.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, caFile: caFile, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// fileStamp identifies the current contents of the files by size and time.
func (c *certReloader) fileStamp() string {
	var b strings.Builder
	for _, f := range []string{c.certFile, c.keyFile, c.caFile} {
		if f == "" {
			continue
		}
		if info, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "%d/%d;", info.Size(), info.ModTime().UnixNano())
		}
	}
	return b.String()
}

func (c *certReloader) load() error {
	stamp := c.fileStamp()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls-cert/tls-key: %w", err)
	}
	var pool *x509.CertPool
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return fmt.Errorf("tls-client-ca: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls-client-ca %s: no PEM certificate found", c.caFile)
		}
	}
	c.cert, c.clientCA, c.stamp = &cert, pool, stamp
	return nil
}

// reload re-reads the files now, keeping the current ones when that fails.
func (c *certReloader) reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked = time.Now()
	if err := c.load(); err != nil { // load changes nothing when it fails
		return err
	}
	c.log.Info("reloaded TLS certificate")
	return nil
}

// current returns the certificate and client CA pool, reloading them when
// the files changed. A reload that fails keeps the previous ones.
func (c *certReloader) current() (*tls.Certificate, *x509.CertPool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) >= time.Second {
		c.checked = time.Now()
		if c.fileStamp() != c.stamp {
			if err := c.load(); err != nil {
				c.log.Warn("reload TLS certificate; keeping the previous one", "err", err)
			} else {
				c.log.Info("reloaded TLS certificate")
			}
		}
	}
	return c.cert, c.clientCA
}

// tlsConfig returns the server TLS config: HTTP/2 and HTTP/1.1, TLS 1.2 or
// later, client certificates required when a client CA is configured.
func (c *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, pool := c.current()
			cfg := &tls.Config{
				MinVersion:   tls.VersionTLS12,
				NextProtos:   []string{"h2", "http/1.1"},
				Certificates: []tls.Certificate{*cert},
			}
			if pool != nil {
				cfg.ClientCAs = pool
				cfg.ClientAuth = tls.RequireAndVerifyClientCert
			}
			return cfg, nil
		},
	}
}
