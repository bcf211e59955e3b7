// Package metrics fetches baseline and canary time series from metrics
// stores. A Source answers one rendered query over a time range at a step
// with one series on that step's grid, gaps as NaN. Each backend is a
// sub-package exporting the same names — New(Account) and Render — for
// metrics/prometheus, metrics/datadog and metrics/newrelic; Memory is an
// in-memory source for tests.
//
// Queries are templates: ${scope}, ${location} and every extended scope
// parameter are substituted with the value escaped for where it lands in
// the query language (a string literal, a regular expression, a tag value);
// a value that cannot be represented safely there is an error naming the
// variable, never a query with injected syntax.
package metrics
