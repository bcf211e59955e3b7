// Package e2e drives judge with the deployers' own client code: Argo
// Rollouts' kayenta and web metric providers (v1.8.3) against a live judge
// server fetching from a real, backfilled Prometheus. It is a module of its
// own so the main module does not depend on Argo Rollouts and Kubernetes.
package e2e
