# judge: automated canary analysis. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

GO ?= go
BIN := bin/judge

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/judge.
	$(GO) build -o $(BIN) ./cmd/judge

.PHONY: demo
demo: build ## Run a full canary analysis on the shipped fixtures (exit 1 FAIL / 2 MARGINAL are verdicts, not errors).
	@echo '$$ judge analyze --canary-config fixtures/analyze/canary-config.yaml --data fixtures/analyze/data.json'
	@$(BIN) analyze --canary-config fixtures/analyze/canary-config.yaml --data fixtures/analyze/data.json || [ $$? -le 2 ]
	@echo
	@echo '$$ judge compare --canary fixtures/compare/canary.txt --baseline fixtures/compare/baseline.txt'
	@$(BIN) compare --canary fixtures/compare/canary.txt --baseline fixtures/compare/baseline.txt

.PHONY: test
test: lint ## Run every test (installs what the tests need).
	$(GO) test -count=1 ./...

.PHONY: lint
lint: ## gofmt and go vet.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: bench
bench: ## Benchmark the statistics against the sort floor (and R, if Rscript is installed).
	scripts/bench-stats.sh
