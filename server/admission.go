package server

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"google.golang.org/grpc/codes"
)

// Defaults of admission control.
var (
	// DefaultMaxConcurrentAnalyses is twice the cores: an analysis
	// alternates between fetching (waiting) and judging (a core).
	DefaultMaxConcurrentAnalyses = 2 * runtime.GOMAXPROCS(0)
	// DefaultAdmissionWait is how long a synchronous analysis waits for a
	// slot before the caller is told to retry.
	DefaultAdmissionWait = 5 * time.Second
)

// retryAfterSeconds is the Retry-After of a refused analysis.
const retryAfterSeconds = "2"

// admission bounds the synchronous analyses running at once (the API's
// Analyze, the deployer webhooks, Kayenta's remote judge): past the limit a
// request waits, up to wait or its own deadline, then is refused with
// errBusy (503 with Retry-After), so health checks and webhooks are never
// starved by a burst. Asynchronous analyses are bounded by the workers.
type admission struct {
	slots chan struct{}
	wait  time.Duration
}

func newAdmission(limit int, wait time.Duration) *admission {
	return &admission{slots: make(chan struct{}, limit), wait: wait}
}

// admittedKey marks a request context that holds a slot already (taken
// by admitHTTP before its body was read).
type admittedKey struct{}

// enter takes a slot, waiting as long as allowed, and returns its release.
// A context that holds one already (admitHTTP) takes none.
func (a *admission) enter(ctx context.Context) (func(), error) {
	if ctx.Value(admittedKey{}) != nil {
		return func() {}, nil
	}
	select {
	case a.slots <- struct{}{}:
		return func() { <-a.slots }, nil
	default:
	}
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return func() { <-a.slots }, nil
	case <-t.C:
		return nil, fmt.Errorf("%w: %d synchronous analyses are running and none finished within %s; retry in %ss",
			errBusy, cap(a.slots), a.wait, retryAfterSeconds)
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waited for one of %d running synchronous analyses to finish until the request's deadline: %w",
			errBusy, cap(a.slots), ctx.Err())
	}
}

// admitRemoteJudge admits one of Kayenta's remote-judge analyses.
func (s *Service) admitRemoteJudge(ctx context.Context) (func(), error) {
	release, err := s.admit.enter(ctx)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return release, nil
}

// admitHTTP takes a slot for a synchronous analysis whose request carries
// its series (POST /v1/analyze, Kayenta's remote judge) before the body is
// read: a burst of large requests waits in the kernel's buffers instead of
// being decoded at once, so the cores stay free for health checks and
// webhooks. A request refused is 503 with Retry-After.
func (s *Service) admitHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, err := s.admit.enter(r.Context())
		if err != nil {
			w.Header().Set("Retry-After", retryAfterSeconds)
			writeJSONError(w, http.StatusServiceUnavailable, codes.Unavailable, err.Error())
			return
		}
		defer release()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), admittedKey{}, true)))
	})
}

// admitAnalyze is admitHTTP for POST /v1/analyze among the /v1 routes.
func (s *Service) admitAnalyze(next http.Handler) http.Handler {
	admitted := s.admitHTTP(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/analyze" {
			admitted.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
