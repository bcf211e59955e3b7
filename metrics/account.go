package metrics

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Account is one configured metrics store. Secrets are never in it: only
// the names of the environment variables or files that hold them.
type Account struct {
	// Name names the account: a config's metric finds its store by the
	// query source's type, and a request picks among accounts of one type
	// by name.
	Name string `mapstructure:"name"`
	// Type is a registered backend's type (Types): prometheus, datadog,
	// newrelic, graphite, influxdb.
	Type string `mapstructure:"type"`
	// URL is the store's address (Prometheus; a proxy or test server for
	// Datadog; the NerdGraph endpoint for New Relic).
	URL string `mapstructure:"url"`
	// Site is the Datadog site (datadoghq.com, datadoghq.eu, …).
	Site string `mapstructure:"site"`
	// AccountID is the New Relic account.
	AccountID int64 `mapstructure:"account_id"`
	// APIKeyEnv / APIKeyFile and AppKeyEnv / AppKeyFile name where the
	// secrets are.
	APIKeyEnv  string `mapstructure:"api_key_env"`
	APIKeyFile string `mapstructure:"api_key_file"`
	AppKeyEnv  string `mapstructure:"app_key_env"`
	AppKeyFile string `mapstructure:"app_key_file"`
	// BearerTokenEnv / BearerTokenFile name a token sent to Prometheus.
	BearerTokenEnv  string `mapstructure:"bearer_token_env"`
	BearerTokenFile string `mapstructure:"bearer_token_file"`
	// BasicAuthUsername, with the password in BasicAuthPasswordEnv or
	// BasicAuthPasswordFile, authenticates to Prometheus with HTTP basic
	// auth (a Prometheus --web.config.file, a proxy in front of it).
	BasicAuthUsername     string `mapstructure:"basic_auth_username"`
	BasicAuthPasswordEnv  string `mapstructure:"basic_auth_password_env"`
	BasicAuthPasswordFile string `mapstructure:"basic_auth_password_file"`
	// Headers are sent with every request to the store, such as the tenant
	// of a multi-tenant Mimir, Cortex or Thanos (X-Scope-OrgID). They are
	// not secrets: credentials go in the settings above.
	Headers map[string]string `mapstructure:"headers"`
	// KayentaRawScopes substitutes scope values into this account's queries
	// as they are, as Kayenta does (a Prometheus regex scope inside =~, a
	// Datadog filter of several tags, Argo's documented "app=x and
	// hash=y"), instead of escaping them. A scope can then add query
	// syntax: only for accounts whose callers are trusted.
	KayentaRawScopes bool `mapstructure:"kayenta_raw_scopes"`
	// CAFile verifies the store's certificate (instead of the system's
	// roots); CertFile and KeyFile are a client certificate (mutual TLS).
	CAFile   string `mapstructure:"ca_file"`
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// RateLimit bounds requests per second to the store (default 20), with
	// bursts of up to RateBurst (default 10).
	// MaxConcurrency bounds the requests in flight to the store across all
	// analyses (default 8; Prometheus runs at most 20 queries at once by
	// default and queues the rest, and a deep queue there stalls).
	MaxConcurrency int     `mapstructure:"max_concurrency"`
	RateLimit      float64 `mapstructure:"rate_limit"`
	RateBurst      int     `mapstructure:"rate_burst"`
	// Timeout bounds one query, retries included (default 30s).
	Timeout time.Duration `mapstructure:"timeout"`
	// Retries is how often a 429, a 5xx or a network error is retried
	// (default 3).
	Retries int `mapstructure:"retries"`
	// MaxResponseBytes bounds one answer of the store (default 8 MiB: a
	// single series of the longest query judge sends is well under 1 MiB).
	// A larger answer is read no further and the metric is ERROR.
	MaxResponseBytes int64 `mapstructure:"max_response_bytes"`
	// Settings holds the keys of the account this struct does not name:
	// its type's own settings, which its backend decodes strictly into its
	// own struct (Backend.Check; an unknown key is an error naming it).
	Settings map[string]any `mapstructure:",remain"`
}

// TypeSpecific are the keys of the account settings some types read and
// others do not (Backend.Uses names a type's).
var TypeSpecific = []string{"url", "site", "account_id", "api_key_env", "api_key_file", "app_key_env", "app_key_file",
	"bearer_token_env", "bearer_token_file", "basic_auth_username", "basic_auth_password_env", "basic_auth_password_file"}

// SetOnly checks that of the settings some types read and others do not
// (TypeSpecific), the account sets only those named (by their config
// keys), and that its Settings hold no key its backend does not decode
// (decoded names those).
func (a Account) SetOnly(allowed []string, decoded ...string) error {
	set := map[string]bool{
		"url": a.URL != "", "site": a.Site != "", "account_id": a.AccountID != 0,
		"api_key_env": a.APIKeyEnv != "", "api_key_file": a.APIKeyFile != "", "app_key_env": a.AppKeyEnv != "", "app_key_file": a.AppKeyFile != "",
		"bearer_token_env": a.BearerTokenEnv != "", "bearer_token_file": a.BearerTokenFile != "",
		"basic_auth_username": a.BasicAuthUsername != "", "basic_auth_password_env": a.BasicAuthPasswordEnv != "", "basic_auth_password_file": a.BasicAuthPasswordFile != "",
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k] && !slices.Contains(allowed, k) {
			return fmt.Errorf("%s: not a setting of a %s account", k, a.Type)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(a.Settings)) {
		if !slices.Contains(decoded, k) {
			return fmt.Errorf("%s: unknown setting of a %s account", k, a.Type)
		}
	}
	return nil
}

// DefaultMaxResponseBytes is the default of Account.MaxResponseBytes.
const DefaultMaxResponseBytes = 8 << 20

// Defaults fills the zero fields and checks the account, naming it in
// errors.
func (a *Account) Defaults() error {
	if a.Name == "" {
		return fmt.Errorf("%w: an account has no name", ErrConfig)
	}
	b, ok := Lookup(a.Type)
	if !ok {
		return fmt.Errorf("%w: account %q: type %q is not one of %s", ErrConfig, a.Name, a.Type, strings.Join(Types(), ", "))
	}
	if err := a.SetOnly(b.Uses, b.SettingKeys()...); err != nil {
		return fmt.Errorf("%w: account %q: %w", ErrConfig, a.Name, err)
	}
	if b.Check != nil {
		if err := b.Check(*a); err != nil {
			return fmt.Errorf("%w: account %q: %w", ErrConfig, a.Name, err)
		}
	}
	if a.RateLimit == 0 {
		a.RateLimit = 20
	}
	if a.RateBurst == 0 {
		a.RateBurst = 10
	}
	if a.Timeout == 0 {
		a.Timeout = 30 * time.Second
	}
	if a.MaxConcurrency == 0 {
		a.MaxConcurrency = 8
	}
	if a.Retries == 0 {
		a.Retries = 3
	}
	if a.MaxResponseBytes == 0 {
		a.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if a.RateLimit < 0 || a.RateBurst < 0 || a.Timeout < 0 || a.Retries < 0 || a.MaxConcurrency < 0 || a.MaxResponseBytes < 0 {
		return fmt.Errorf("%w: account %q: rate_limit, rate_burst, max_concurrency, timeout, retries and max_response_bytes must not be negative", ErrConfig, a.Name)
	}
	for name, value := range a.Headers {
		switch {
		case !headerName.MatchString(name):
			return fmt.Errorf("%w: account %q: headers: %.60q is not a header name", ErrConfig, a.Name, name)
		case strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Proxy-Authorization"):
			return fmt.Errorf("%w: account %q: headers: %s would put a credential in the config; use bearer_token_* or basic_auth_*", ErrConfig, a.Name, name)
		case strings.ContainsAny(value, "\r\n\x00"):
			return fmt.Errorf("%w: account %q: headers[%s]: a line break or NUL is not allowed", ErrConfig, a.Name, name)
		}
	}
	if (a.CertFile == "") != (a.KeyFile == "") {
		return fmt.Errorf("%w: account %q: cert_file and key_file go together (a client certificate and its key)", ErrConfig, a.Name)
	}
	if a.BasicAuthUsername != "" && (a.BearerTokenEnv != "" || a.BearerTokenFile != "") {
		return fmt.Errorf("%w: account %q: basic_auth_username and bearer_token_*: choose one way to authenticate", ErrConfig, a.Name)
	}
	return nil
}

// headerName is an HTTP header field name (RFC 9110's token).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// transport is the account's base HTTP transport: enough idle connections
// for an analysis' concurrent fetches, and its TLS settings. Errors name the
// setting, never a file's content.
func (a *Account) transport() (*http.Transport, error) {
	// One analysis fetches every metric of both scopes at once: keep enough
	// idle connections to the store for that (the default keeps two).
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	if a.CAFile == "" && a.CertFile == "" {
		return t, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.CAFile != "" {
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: account %q: ca_file cannot be read", ErrConfig, a.Name)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: account %q: ca_file holds no PEM certificate", ErrConfig, a.Name)
		}
		cfg.RootCAs = pool
	}
	if a.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: account %q: cert_file and key_file are not a readable certificate and key pair", ErrConfig, a.Name)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	t.TLSClientConfig = cfg
	return t, nil
}

// headers adds an account's headers to every request.
type headers struct {
	next http.RoundTripper
	set  map[string]string
}

func (h headers) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(h.set) == 0 {
		return h.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	for k, v := range h.set {
		r.Header.Set(k, v)
	}
	return h.next.RoundTrip(r)
}

// Secret reads a secret from the named environment variable or file; what
// says which secret, for errors (which never contain the secret). Scrub
// removes every secret read here from the text it quotes.
func (a *Account) Secret(what, env, file string) (string, error) {
	switch {
	case env != "":
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return "", fmt.Errorf("%w: account %q: %s: environment variable %s is empty or unset", ErrConfig, a.Name, what, env)
		}
		registerSecret(v)
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%w: account %q: %s: cannot read the file named by %s_file", ErrConfig, a.Name, what, what)
		}
		v := strings.TrimSpace(string(b))
		registerSecret(v)
		return v, nil
	}
	return "", nil
}

// Instruments are the source metrics judge exports on /metrics.
type Instruments struct {
	Requests *prometheus.CounterVec
	Retries  *prometheus.CounterVec
	Latency  *prometheus.HistogramVec
}

// NewInstruments returns unregistered source metrics.
func NewInstruments() *Instruments {
	return &Instruments{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "judge_source_requests_total",
			Help: "HTTP requests to metrics sources by account, type and status (the HTTP code, or \"error\" when none came back).",
		}, []string{"account", "type", "status"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "judge_source_retries_total",
			Help: "Retried requests to metrics sources (429, 5xx, network errors) by account and type.",
		}, []string{"account", "type"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "judge_source_request_duration_seconds",
			Help:    "Latency of one HTTP request to a metrics source by account and type.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"account", "type"}),
	}
}

// Collectors returns the instruments for registration.
func (in *Instruments) Collectors() []prometheus.Collector {
	return []prometheus.Collector{in.Requests, in.Retries, in.Latency}
}

// instrumented counts and times each HTTP request (each attempt), waits
// for the account's rate limit before sending it and holds one of the
// account's concurrency slots until the answer's body is closed.
type instrumented struct {
	next    http.RoundTripper
	limiter *rate.Limiter
	slots   chan struct{}
	in      *Instruments
	account Account
}

func (t *instrumented) RoundTrip(r *http.Request) (*http.Response, error) {
	if attempts, ok := r.Context().Value(attemptsKey{}).(*atomic.Int32); ok && attempts.Add(1) > 1 && t.in != nil {
		t.in.Retries.WithLabelValues(t.account.Name, t.account.Type).Inc()
	}
	select {
	case t.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	release := sync.OnceFunc(func() { <-t.slots })
	if err := t.limiter.Wait(r.Context()); err != nil {
		release()
		return nil, err
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		release()
	} else {
		limit := cmp.Or(t.account.MaxResponseBytes, DefaultMaxResponseBytes)
		if resp.ContentLength > limit {
			_ = resp.Body.Close()
			release()
			return nil, fmt.Errorf("%w: the answer's Content-Length %d is larger than max_response_bytes %d", ErrTooLarge, resp.ContentLength, limit)
		}
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: release, left: limit, limit: limit}
	}
	if t.in != nil {
		status := "error"
		if err == nil {
			status = fmt.Sprint(resp.StatusCode)
		}
		t.in.Requests.WithLabelValues(t.account.Name, t.account.Type, status).Inc()
		t.in.Latency.WithLabelValues(t.account.Name, t.account.Type).Observe(time.Since(start).Seconds())
	}
	return resp, err
}

type attemptsKey struct{}

// CountAttempts marks ctx so that the requests made under it after the first
// count as retries in the instruments: for clients that retry inside one
// call (Datadog's), where the transport sees every attempt.
func CountAttempts(ctx context.Context) context.Context {
	return context.WithValue(ctx, attemptsKey{}, new(atomic.Int32))
}

// releasingBody frees the request's concurrency slot when closed, and
// fails a read past the account's response limit, so no answer is ever
// buffered beyond it.
type releasingBody struct {
	io.ReadCloser
	release func()
	left    int64
	limit   int64
}

func (b *releasingBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a larger one.
		var one [1]byte
		if n, _ := b.ReadCloser.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%w: the answer is larger than max_response_bytes %d", ErrTooLarge, b.limit)
		}
		return b.ReadCloser.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *releasingBody) Close() error {
	defer b.release()
	return b.ReadCloser.Close()
}

// RateLimited returns an HTTP client that waits for the account's rate
// limit before every request and records it in the instruments, without
// retries (for clients that retry themselves).
func RateLimited(a Account, in *Instruments) (*http.Client, error) {
	transport, err := a.transport()
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &instrumented{
		next:    headers{next: transport, set: a.Headers},
		limiter: rate.NewLimiter(rate.Limit(a.RateLimit), a.RateBurst),
		slots:   make(chan struct{}, max(a.MaxConcurrency, 1)),
		in:      in,
		account: a,
	}}, nil
}

// RetryingClient returns an HTTP client for the account: rate limited,
// instrumented, and retrying 429, 5xx (but 501) and network errors with
// exponential backoff and jitter, honouring Retry-After; other 4xx are
// answered at once. The last response is returned when retries run out, so
// callers see the source's own status and message.
func RetryingClient(a Account, in *Instruments) (*http.Client, error) {
	limited, err := RateLimited(a, in)
	if err != nil {
		return nil, err
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = limited
	rc.Logger = nil
	rc.RetryMax = a.Retries
	rc.RetryWaitMin = 200 * time.Millisecond
	rc.RetryWaitMax = 10 * time.Second
	rc.Backoff = jitteredBackoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if errors.Is(err, ErrTooLarge) {
			return false, err // asking again gets the same answer
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	rc.RequestLogHook = func(_ retryablehttp.Logger, _ *http.Request, attempt int) {
		if attempt > 0 && in != nil {
			in.Retries.WithLabelValues(a.Name, a.Type).Inc()
		}
	}
	return rc.StandardClient(), nil
}

// jitteredBackoff honours Retry-After (429, 503) and otherwise backs off
// exponentially from lo to at most hi, with jitter over the upper half.
func jitteredBackoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) &&
		resp.Header.Get("Retry-After") != "" {
		return retryablehttp.DefaultBackoff(lo, hi, attempt, resp)
	}
	d := retryablehttp.DefaultBackoff(lo, hi, attempt, nil)
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not a secret
}
