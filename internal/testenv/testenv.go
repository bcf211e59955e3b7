// Package testenv says which tests need what the machine must provide:
// a real PostgreSQL, Prometheus, InfluxDB, Graphite, VictoriaMetrics,
// Chromium or Podman. `go test -short` (make check) skips them, so a
// contributor's first loop needs nothing installed; without -short (make
// test, CI) they run, and fail when the component is missing.
package testenv

import "testing"

// NeedsExternal skips t under -short, naming what it needs.
func NeedsExternal(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: skipped by -short (make check); make test runs it", what)
	}
}
