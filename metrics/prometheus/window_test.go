package prometheus

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  time.Duration
	}{
		{`sum(rate(http_requests_total{job="api"}[5m]))`, 5 * time.Minute},
		{`histogram_quantile(0.99, sum by (le) (rate(latency_bucket[2m])))`, 2 * time.Minute},
		{`max_over_time(rate(x[1m])[1h:1m])`, time.Hour},
		{`rate(a[30s]) / rate(b[10m])`, 10 * time.Minute},
		{`irate(x[5m])`, 0},
		{`up`, 0},
		{`avg(node_memory_Active_bytes) # [1h] in a comment`, 0},
		{`rate(x[5m]`, 0}, // does not parse
	} {
		if got := Window(tc.query); got != tc.want {
			t.Errorf("Window(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}
