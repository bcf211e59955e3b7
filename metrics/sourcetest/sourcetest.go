// Package sourcetest is the conformance suite every metrics backend runs
// against its real server: a fixture series comes back on the query's
// grid; a scope that matches nothing is NODATA; a hostile scope value,
// escaped for where it lands, matches nothing and takes no other series'
// data; a query the server refuses is rejected; an unreachable server is
// unavailable; an answer over the account's byte limit is too large; and
// the backend's Window and Kayenta decoding answer. Run it from the
// backend's own test with a Harness.
package sourcetest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
)

// Series is one fixture series: the metric "judge_conformance" of one
// scope, a point every Step from Start.
type Series struct {
	Scope  string
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// Harness is what a backend gives the suite.
type Harness struct {
	// Type is the backend's account type.
	Type string
	// Start runs the backend's real server with the fixtures and returns
	// its URL; it stops when the test ends.
	Start func(t *testing.T, series []Series) string
	// Account is an account of the type for the server at url.
	Account func(url string) metrics.Account
	// Template selects judge_conformance of one scope, ${scope} placed
	// where the language quotes a value.
	Template string
	// Rejected is a query the server refuses (bad syntax).
	Rejected string
	// Kayenta is a Kayenta query config of the type, and Rendered what it
	// renders for scope "a" (with Expand's escaping).
	Kayenta, Rendered string
	// KayentaScope is the scope value Kayenta's form takes for scope "a"
	// (Prometheus: the value; InfluxDB: tag:value).
	KayentaScope string
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	b, ok := metrics.Lookup(h.Type)
	if !ok {
		t.Fatalf("backend %q is not registered", h.Type)
	}
	start := time.Now().Add(-30 * time.Hour).Truncate(time.Hour).UTC()
	wave := func(level float64) []float64 {
		v := make([]float64, 60)
		for i := range v {
			v[i] = level * (1 + 0.1*math.Sin(float64(i)))
		}
		return v
	}
	url := h.Start(t, []Series{{Scope: "a", Start: start, Step: time.Minute, Values: wave(10)}, {Scope: "secret", Start: start, Step: time.Minute, Values: wave(1000)}})
	account := h.Account(url)
	src, err := b.New(account, nil)
	if err != nil {
		t.Fatal(err)
	}
	query := func(scope string) (metrics.Query, error) {
		text, err := metrics.Expand(h.Template, map[string]string{"scope": scope}, b.Language)
		return metrics.Query{Text: text, Start: start, End: start.Add(59 * time.Minute), Step: time.Minute}, err
	}
	ctx := context.Background()

	t.Run("series on the grid", func(t *testing.T) {
		q, err := query("a")
		if err != nil {
			t.Fatal(err)
		}
		s, err := src.Fetch(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want := wave(10)
		if len(s.Values) != len(want) || !s.Start.Equal(start) || s.Step != time.Minute {
			t.Fatalf("series of %d points from %s at %s, want %d from %s at 1m", len(s.Values), s.Start, s.Step, len(want), start)
		}
		for i, v := range s.Values {
			if math.Abs(v-want[i]) > 1e-6*want[i] {
				t.Errorf("point %d: %v, want %v", i, v, want[i])
				break
			}
		}
	})
	t.Run("no data", func(t *testing.T) {
		q, _ := query("nobody")
		if _, err := src.Fetch(ctx, q); !errors.Is(err, metrics.ErrNoData) {
			t.Errorf("a scope that matches nothing: %v, want ErrNoData", err)
		}
	})
	t.Run("hostile scopes", func(t *testing.T) {
		for _, hostile := range []string{`a' OR "scope" = 'secret`, `a"} or judge_conformance{scope="secret`, `a\' OR 1=1 --`, "a\u0000", `secret' --`} {
			q, err := query(hostile)
			if err != nil {
				if !errors.Is(err, metrics.ErrUnsafeValue) {
					t.Errorf("%q: %v, want ErrUnsafeValue or no data", hostile, err)
				}
				continue
			}
			s, err := src.Fetch(ctx, q)
			if err == nil {
				for _, v := range s.Values {
					if v > 100 {
						t.Errorf("%q read another scope's data (%v): %s", hostile, v, q.Text)
						break
					}
				}
			} else if !errors.Is(err, metrics.ErrNoData) && !errors.Is(err, metrics.ErrRejected) {
				t.Errorf("%q: %v", hostile, err)
			}
		}
	})
	t.Run("rejected", func(t *testing.T) {
		q, _ := query("a")
		q.Text = h.Rejected
		if _, err := src.Fetch(ctx, q); !errors.Is(err, metrics.ErrRejected) && !errors.Is(err, metrics.ErrTemplate) {
			t.Errorf("a bad query: %v, want ErrRejected", err)
		}
	})
	t.Run("unavailable", func(t *testing.T) {
		down := h.Account("http://127.0.0.1:1")
		down.Retries, down.Timeout = 1, 2*time.Second
		src, err := b.New(down, nil)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := query("a")
		if _, err := src.Fetch(ctx, q); !errors.Is(err, metrics.ErrUnavailable) {
			t.Errorf("an unreachable server: %v, want ErrUnavailable", err)
		}
	})
	t.Run("bounded answers", func(t *testing.T) {
		small := account
		small.MaxResponseBytes = 64
		src, err := b.New(small, nil)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := query("a")
		if _, err := src.Fetch(ctx, q); !errors.Is(err, metrics.ErrTooLarge) {
			t.Errorf("an answer over 64 bytes: %v, want ErrTooLarge", err)
		}
	})
	t.Run("kayenta and window", func(t *testing.T) {
		got, err := b.FromKayenta(b.Language, []byte(h.Kayenta), nil, map[string]string{"scope": h.KayentaScope})
		if err != nil || got != h.Rendered {
			t.Errorf("Kayenta query %s renders %q, %v; want %q", h.Kayenta, got, err, h.Rendered)
		}
		if w := b.Window(h.Template); w < 0 {
			t.Errorf("window %v", w)
		}
	})
}
