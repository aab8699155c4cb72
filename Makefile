# novawh — run `make` (or `make help`) for the list of targets.
SHELL := /bin/bash
export GOTOOLCHAIN := local
export PATH := $(PATH):$(shell go env GOPATH 2>/dev/null)/bin
SQLC_VERSION := v1.31.1
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
BIN := bin/novawh

.DEFAULT_GOAL := help

help: ## list the targets (coloured on a terminal, plain in pipes)
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=''; off=''; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %s%-12s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)

build: ## build bin/novawh
	go build -o $(BIN) ./cmd/novawh

demo: build ## run the whole pipeline on the bundled samples (starts a local PostgreSQL unless DATABASE_URL is set)
	scripts/demo.sh

test: ## go vet, the tests with -race against a real PostgreSQL, and make verify
	scripts/test.sh

bench: build ## benchmarks against the baselines the issues name (loader vs psql \copy, refresh, API, export)
	scripts/bench.sh

bench-scale: build ## the scale run: load, refresh, status, API, export, each beside its anchor (psql copy, bare CTAS, psql read), RSS, database size; SCALE_ITEMS=750 is the 10 GB run (~12M forecast rows, an 8.2 GB database, 9–25 min here), the default 3,000 items ~49M rows (~42 GB, needs ~80 GB disk)
	scripts/bench-scale.sh

generate: tools ## regenerate sqlc code from migrations/ and queries/
	sqlc generate

verify: tools ## fail when generated code is stale, code is not gofmt'ed, go.mod is untidy or the registry is invalid
	sqlc diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "not gofmt'ed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	go mod tidy -diff
	go run ./cmd/novawh registry check --offline --log-file ""

lint: ## go vet, gofmt and golangci-lint (when installed)
	go vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	@if command -v golangci-lint >/dev/null; then golangci-lint run ./...; else echo "golangci-lint not installed: skipped (go vet and gofmt ran)"; fi

tools: ## install the pinned sqlc when missing
	@command -v sqlc >/dev/null && sqlc version | grep -q $(SQLC_VERSION:v%=%) || go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

interop: build ## DuckDB (npm @duckdb/node-api) reads the Parquet export and must agree with PostgreSQL
	scripts/export/interop.sh

tools-minio: ## install the pinned MinIO server used by the S3 export tests
	@command -v minio >/dev/null || test -x "$$(go env GOPATH)/bin/minio" || go install github.com/minio/minio@$(MINIO_VERSION)

screenshots: ## regenerate docs/screenshots (the web UI in headless Chromium, from the browser test)
	scripts/screenshots.sh

db-start: build ## start the local demo PostgreSQL and print its URL
	$(BIN) db start --log-file ""

db-stop: build ## stop the local demo PostgreSQL
	$(BIN) db stop --log-file ""

.PHONY: help build demo test bench bench-scale generate verify lint tools tools-minio interop screenshots db-start db-stop
