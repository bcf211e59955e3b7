package datadog

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  time.Duration
	}{
		{`moving_rollup(avg:trace.http.request.duration{service:api}, 300, 'avg')`, 5 * time.Minute},
		{`moving_rollup(sum:errors{env:prod}.as_count(), 600)`, 10 * time.Minute},
		{`avg:system.cpu.user{host:a}.rollup(avg, 300)`, 0},
		{`avg:system.cpu.user{host:a}`, 0},
	} {
		if got := Window(tc.query); got != tc.want {
			t.Errorf("Window(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}
