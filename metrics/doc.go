// Package metrics defines how judge fetches baseline and canary time series
// from a metrics store. Each backend lives in a sub-package exporting the same
// names (metrics/prometheus, metrics/datadog, metrics/newrelic); they arrive
// with the metrics-source work.
package metrics
