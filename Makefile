# judge: automated canary analysis. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

GO ?= go
# One cgo setting and one set of build flags for the binary, the tests,
# the plugin and the image, so each package compiles once and the build
# cache serves them all (judge needs no cgo: modernc's SQLite is pure Go).
export CGO_ENABLED := 0
export GOFLAGS := $(strip $(GOFLAGS) -trimpath)
BIN := bin/judge
ARGO_PLUGIN := bin/judge-argo-plugin
IMAGE := bin/judge-image.tar

# Build information (judge version, /metrics' judge_build_info, the UI
# footer): the nearest v* tag, the commit and the commit's date, which
# keeps builds and the image reproducible.
VERSION ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo v0.1.0-dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
COMMIT_DATE ?= $(shell git log -1 --format=%cI 2>/dev/null | sed 's/+00:00$$/Z/')
LDFLAGS := -X github.com/canaryjudge/judge/version.version=$(VERSION) \
	-X github.com/canaryjudge/judge/version.commit=$(COMMIT) \
	-X github.com/canaryjudge/judge/version.date=$(COMMIT_DATE)

# Code generation tools, pinned; installed into bin/tools by `make tools`.
TOOLS := $(CURDIR)/bin/tools
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION := v2.33.0
TOOLS_STAMP := $(TOOLS)/.versions-$(BUF_VERSION)-$(PROTOC_GEN_GO_VERSION)-$(PROTOC_GEN_GO_GRPC_VERSION)-$(GRPC_GATEWAY_VERSION)
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(TOOLS)/golangci-lint-$(GOLANGCI_LINT_VERSION)
# Helm, for the chart's tests (deploy/helm/judge).
HELM_VERSION := v4.3.2
HELM := $(TOOLS)/helm-$(HELM_VERSION)
# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 30s

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/judge.
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/judge

.PHONY: image
image: argo-plugin ## Build the container image offline into the OCI archive bin/judge-image.tar (podman load -i, skopeo copy oci-archive:), with the Argo Rollouts plugin.
	GOOS=linux $(GO) build -ldflags "$(LDFLAGS) -s -w" -o bin/judge-linux ./cmd/judge
	$(GO) run ./cmd/judge-image -binary bin/judge-linux -argo-plugin $(ARGO_PLUGIN) -out $(IMAGE) -version $(VERSION) -commit $(COMMIT) -date $(COMMIT_DATE)

.PHONY: demo
demo: build ## Judge a canary whose latency regressed (FAIL), the same config on a good canary (PASS) and on its first 15 points (MARGINAL: too few to certify), and compare two samples.
	@echo '$$ judge analyze --canary-config fixtures/analyze/canary-config.yaml --data fixtures/analyze/regression.json'
	@echo '# a canary whose p99 latency rose 3.5% (real production series, fixtures/analyze/README.md)'
	@code=0; $(BIN) analyze --canary-config fixtures/analyze/canary-config.yaml --data fixtures/analyze/regression.json || code=$$?; \
		echo "exit $$code"; [ $$code -eq 1 ]
	@echo
	@echo '$$ judge analyze --canary-config fixtures/analyze/canary-config.yaml --data fixtures/analyze/good.json'
	@echo '# the same config on a good canary'
	@code=0; $(BIN) analyze --canary-config fixtures/analyze/canary-config.yaml --data fixtures/analyze/good.json || code=$$?; \
		echo "exit $$code"; [ $$code -eq 0 ]
	@echo
	@echo '$$ judge analyze --canary-config fixtures/analyze/canary-config.yaml --data fixtures/analyze/short.json'
	@echo '# the good canary after 15 points: too few to certify that latency rose less than 2.5%'
	@code=0; $(BIN) analyze --canary-config fixtures/analyze/canary-config.yaml --data fixtures/analyze/short.json || code=$$?; \
		echo "exit $$code"; [ $$code -eq 2 ]
	@echo
	@echo 'Exit codes gate a pipeline: 0 PASS (promote), 1 FAIL (roll back), 2 MARGINAL (hold for a person).'
	@echo '64 and above are mistakes, never verdicts: 64 usage, 65 bad config or data, 69 server unavailable.'
	@echo
	@echo '$$ judge compare --canary fixtures/compare/canary.txt --baseline fixtures/compare/baseline.txt'
	@$(BIN) compare --canary fixtures/compare/canary.txt --baseline fixtures/compare/baseline.txt

.PHONY: demo-prometheus
demo-prometheus: build ## Run a live analysis against a local Prometheus backfilled with fixture series.
	scripts/demo-prometheus.sh

.PHONY: demo-backtest
demo-backtest: build ## Backtest a canary config on past deployments held by a local Prometheus (docs/backtest.md).
	scripts/demo-backtest.sh

.PHONY: test
test: lint check-generated $(HELM) ## Run every test (installs what the tests need: PostgreSQL, Prometheus, Chromium, Helm; builds the image).
	scripts/ensure-postgres.sh
	scripts/ensure-prometheus.sh
	scripts/ensure-sources.sh
	scripts/ensure-chromium.sh
	scripts/ensure-podman.sh
	$(MAKE) image
	JUDGE_IMAGE=$(CURDIR)/$(IMAGE) $(GO) test -count=1 ./...
	cd deploy/helm && $(GO) vet ./... && HELM=$(HELM) $(GO) test -count=1 ./...
	cd argoplugin && $(GO) vet ./... && $(GO) test -count=1 ./...
	$(MAKE) argo-plugin
	cd e2e && $(GO) vet ./... && JUDGE_ARGO_PLUGIN=$(CURDIR)/$(ARGO_PLUGIN) $(GO) test -count=1 -timeout 20m ./...

.PHONY: check
check: ## vet and the unit tests, needing nothing installed: no database, metric source, browser or image (go test -short skips those tests; make test runs them).
	$(GO) vet ./...
	$(GO) test -short ./...

.PHONY: argo-plugin
argo-plugin: ## Build judge's Argo Rollouts metric provider plugin (module argoplugin/), static, into bin/judge-argo-plugin.
	cd argoplugin && GOOS=linux $(GO) build -ldflags "-s -w" -o $(CURDIR)/$(ARGO_PLUGIN) .

$(TOOLS_STAMP):
	mkdir -p $(TOOLS) && rm -f $(TOOLS)/.versions-*
	GOBIN=$(TOOLS) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	GOBIN=$(TOOLS) $(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
	GOBIN=$(TOOLS) $(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
	touch $@

.PHONY: tools
tools: $(TOOLS_STAMP) ## Install the pinned code generation tools into bin/tools.

.PHONY: generate
generate: tools ## Lint the protos and regenerate Go code and the OpenAPI document from them.
	$(TOOLS)/buf lint
	$(TOOLS)/buf generate

.PHONY: check-generated
check-generated: generate ## Fail when the committed generated code is stale.
	@if ! git diff --quiet -- proto || [ -n "$$(git ls-files --others --exclude-standard -- proto)" ]; then \
		git status --short -- proto; echo "generated code is stale: run make generate and commit"; exit 1; fi

$(HELM):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS)/helm.tmp $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	mv $(TOOLS)/helm.tmp/helm $@ && rm -rf $(TOOLS)/helm.tmp

.PHONY: chart
chart: $(HELM) ## Lint the Helm chart and render it with its CI values (deploy/helm/judge).
	$(HELM) lint --strict deploy/helm/judge
	$(HELM) template judge deploy/helm/judge --namespace judge -f deploy/helm/judge/ci/default-values.yaml

$(GOLANGCI_LINT):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS)/golangci-lint.tmp $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(TOOLS)/golangci-lint.tmp/golangci-lint $@ && rm -rf $(TOOLS)/golangci-lint.tmp

.PHONY: lint
lint: $(GOLANGCI_LINT) ## gofmt, go vet and golangci-lint (.golangci.yml).
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...
	scripts/check-artefacts.sh

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s).
	@set -e; for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x; \
		done; \
	done

.PHONY: bench
bench: ## Benchmark the statistics against the sort floor (and R, if Rscript is installed).
	scripts/bench-stats.sh

.PHONY: bench-server
bench-server: ## Load-test the HTTP and gRPC analyze endpoints against decode-only floors on loopback.
	$(GO) build -o bin/judge-bench ./cmd/judge-bench
	bin/judge-bench -duration $${BENCH_DURATION:-5s}

.PHONY: bench-fleet
bench-fleet: build ## Many sequences against judge serve replicas on PostgreSQL and a backfilled Prometheus (docs/performance.md; FLEET_FLAGS, e.g. -replicas 2 -restart).
	scripts/ensure-postgres.sh
	scripts/ensure-prometheus.sh
	$(GO) run ./cmd/judge-fleet -judge $(BIN) $(FLEET_FLAGS)

.PHONY: serve
serve: build ## Run judge serve on embedded defaults (127.0.0.1:8080, SQLite in ./judge-data).
	$(BIN) serve
