// Package analysis runs canary analyses end to end: it renders each
// metric's query for the baseline and the canary scope, fetches every series
// concurrently from the configured metrics sources, hands the pairs to the
// verdict engine and returns the verdict with the series it judged. The CLI
// and the service call it; verdict and metrics stay unaware of each other.
package analysis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/canaryjudge/judge/verdict"
)

// The errors of this package.
var (
	// ErrInvalidRequest is returned for scopes that cannot be used: a
	// missing scope, a bad time range, a scope value that cannot be placed
	// in a query safely.
	ErrInvalidRequest = errors.New("invalid analysis request")
	// ErrConfig is returned when the metrics accounts do not fit the
	// canary config (no account for a query's source, several without a
	// choice).
	ErrConfig = errors.New("metrics accounts do not fit the canary config")
)

// Scope is one side of a scope pair: which series to fetch, over which
// time range, at which step (Kayenta's CanaryScope).
type Scope struct {
	Scope    string `json:"scope"`
	Location string `json:"location,omitempty"`
	// Region is Argo Rollouts' name for the location (its kayenta provider
	// sends "region"); it is used when Location is empty.
	Region              string            `json:"region,omitempty"`
	Start               time.Time         `json:"start"`
	End                 time.Time         `json:"end"`
	Step                int64             `json:"step"` // seconds
	ExtendedScopeParams map[string]string `json:"extendedScopeParams,omitempty"`
}

// ScopePair is the baseline (control) and canary (experiment) scope of one
// scope name (Kayenta's CanaryScopePair).
type ScopePair struct {
	Control    *Scope `json:"controlScope"`
	Experiment *Scope `json:"experimentScope"`
}

// Request is what to fetch: Kayenta's CanaryExecutionRequest.
type Request struct {
	Scopes     map[string]ScopePair `json:"scopes"`
	Thresholds *verdict.Thresholds  `json:"thresholds,omitempty"`
}

// maxScopeBytes bounds a scope value.
const maxScopeBytes = 1024

// MaxStepSeconds bounds a scope's step (one day); every step is checked
// against it before any arithmetic, so no step overflows a duration.
const MaxStepSeconds = 24 * 60 * 60

// ParseRequest reads a CanaryExecutionRequest JSON and checks it, naming
// the source and field in errors.
func ParseRequest(data []byte, source string) (*Request, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var req Request
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("%s: %w: want a Kayenta CanaryExecutionRequest: %s", source, ErrInvalidRequest, verdict.JSONErrorText(err))
	}
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &req, nil
}

// Validate checks every scope pair: both sides present, start before end,
// a positive step, bounded values.
func (r *Request) Validate() error {
	if len(r.Scopes) == 0 {
		return fmt.Errorf("%w: scopes: none given", ErrInvalidRequest)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Scopes)) {
		pair := r.Scopes[name]
		for side, s := range map[string]*Scope{"controlScope": pair.Control, "experimentScope": pair.Experiment} {
			at := fmt.Sprintf("scopes.%s.%s", name, side)
			if s == nil {
				return fmt.Errorf("%w: %s: missing (canary scope %q needs controlScope and experimentScope)", ErrInvalidRequest, at, name)
			}
			switch {
			case s.Start.IsZero() || s.End.IsZero():
				return fmt.Errorf("%w: %s: start and end are required", ErrInvalidRequest, at)
			case !s.End.After(s.Start):
				return fmt.Errorf("%w: %s: end %s is not after start %s", ErrInvalidRequest, at, s.End.Format(time.RFC3339), s.Start.Format(time.RFC3339))
			case s.Step <= 0 || s.Step > MaxStepSeconds:
				return fmt.Errorf("%w: %s.step: %d; want a number of seconds from 1 to %d", ErrInvalidRequest, at, s.Step, MaxStepSeconds)
			case s.End.Sub(s.Start)/(time.Duration(s.Step)*time.Second) > 100_000:
				return fmt.Errorf("%w: %s: the range holds more than 100,000 steps of %ds", ErrInvalidRequest, at, s.Step)
			}
			for k, v := range s.vars() {
				if len(v) > maxScopeBytes {
					return fmt.Errorf("%w: %s: %s is longer than %d bytes", ErrInvalidRequest, at, k, maxScopeBytes)
				}
			}
		}
	}
	if _, err := verdict.RequestThresholds(r.Thresholds); err != nil {
		return fmt.Errorf("%w: thresholds.%w", ErrInvalidRequest, err)
	}
	return nil
}

// vars are the template variables of a scope: scope, location and every
// extended scope parameter.
func (s *Scope) vars() map[string]string {
	v := make(map[string]string, 2+len(s.ExtendedScopeParams))
	maps.Copy(v, s.ExtendedScopeParams)
	v["scope"] = s.Scope
	v["location"] = s.Location
	if s.Location == "" {
		v["location"] = s.Region
	}
	return v
}

// ScopeNames are the scope pair names a canary config's metrics use, in
// the order they first appear.
func ScopeNames(cfg *verdict.Config) []string {
	var names []string
	for i := range cfg.Metrics {
		if name := scopeName(&cfg.Metrics[i]); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// scopeName is a metric's scope pair name.
func scopeName(m *verdict.Metric) string {
	if strings.TrimSpace(m.Scope) == "" {
		return "default"
	}
	return m.Scope
}
