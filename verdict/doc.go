// Package verdict turns baseline and canary samples of many metrics into one
// PASS / MARGINAL / FAIL decision with per-metric classifications and reasons.
package verdict
