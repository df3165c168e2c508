# Baton. `make run` starts everything; `make test` runs every test layer.
# Everything installs from the Go module proxy, Debian's packages or npm.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLS := $(CURDIR)/.tools
BIN   := $(CURDIR)/.bin
TEMPORAL_CLI_VERSION := v1.5.1
STATICCHECK_VERSION  := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
PRISM_VERSION := 5.16.0
# The cluster topology: the Temporal server the pinned CLI embeds (its go.mod
# requires go.temporal.io/server v1.29.1 and github.com/temporalio/ui-server/v2
# v2.42.1), built from the module proxy like the CLI.
TEMPORAL_SERVER_VERSION := v1.29.1
TEMPORAL_UI_VERSION := v2.42.1

TEMPORAL      := $(TOOLS)/bin/temporal
STATICCHECK   := $(TOOLS)/bin/staticcheck
WORKFLOWCHECK := $(TOOLS)/bin/workflowcheck
PRISM         := $(TOOLS)/prism/node_modules/.bin/prism
CLUSTER_TOOLS   := $(TOOLS)/cluster
TEMPORAL_SERVER := $(CLUSTER_TOOLS)/temporal-server
TEMPORAL_SQL    := $(CLUSTER_TOOLS)/temporal-sql-tool
TEMPORAL_UI     := $(CLUSTER_TOOLS)/temporal-ui-server
export BATON_TEMPORAL_CLI := $(TEMPORAL)
export BATON_PRISM := $(PRISM)

.PHONY: help run run-cluster cluster-tools haproxy test-cluster images chaos chaos-dev build test test-unit search lint tools pg browser prism histories bench bench-tune bench-scale clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: build $(TEMPORAL) pg ## start Temporal (UI :8233), PostgreSQL, the worker and the gateway (:8080); Ctrl-C stops all
	@deploy/dev/run.sh

run-cluster: build $(TEMPORAL) cluster-tools haproxy pg ## the production shape on one machine: Temporal server on PostgreSQL (UI :8233), 2 workers, 2 gateways behind HAProxy on :8080
	@deploy/cluster/run.sh

cluster-tools: $(TEMPORAL_SERVER) $(TEMPORAL_SQL) $(TEMPORAL_UI) ## build the Temporal server, its SQL schema tool and the Web UI server into .tools/cluster (once)

build: ## build worker, gateway and starter into .bin/
	@mkdir -p $(BIN)
	go build -o $(BIN)/ ./worker ./gateway ./starter

test: $(TEMPORAL) pg browser prism ## every test: unit, workflow, replay, store, integration, browser, SendGrid contract
	go test -count=1 -timeout 20m ./...

test-cluster: $(TEMPORAL_SERVER) ## the tests that need the cluster's Temporal server: mTLS by environment (make test skips them until it is built)
	go test -count=1 -run TestMTLSByEnvironment -v ./internal/tclient/

test-unit: ## the tests that need no server
	go test -count=1 ./internal/domain/... ./internal/config/... ./internal/token/... ./workflows/... && go test -count=1 -run "Compose|Subject|Who|HTML" ./internal/mail/

# The randomized schedules (workflows/random_test.go): make test runs 500 seeds;
# this runs as many as asked, from SEED_BASE (default 1), or one SEED with its
# schedule printed. A failing seed prints the command that reproduces it.
SEEDS ?= 5000
search: ## randomized workflow schedules: make search SEEDS=n [SEED_BASE=b] [SEED=k]
	BATON_SEEDS=$(SEEDS) BATON_SEED_BASE=$(or $(SEED_BASE),1) BATON_SEED=$(SEED) \
	  go test -count=1 -timeout 0 -run '^TestRandomSchedules$$' -v ./workflows/

lint: $(STATICCHECK) $(WORKFLOWCHECK) ## go vet, staticcheck and workflowcheck
	go vet ./...
	$(STATICCHECK) ./...
	$(WORKFLOWCHECK) ./workflows/...

tools: $(TEMPORAL) $(STATICCHECK) $(WORKFLOWCHECK) ## build the pinned tools into .tools/ (once)

# The CLI is built once from the module proxy (about 3 minutes).
$(TEMPORAL):
	@echo "building the Temporal CLI $(TEMPORAL_CLI_VERSION) into .tools/bin (once, about 3 minutes)"
	GOBIN=$(TOOLS)/bin go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# The server and its schema tool come from one module: one go install (about
# 6 minutes on 2 busy cores), then named as Temporal's own builds name them.
$(TEMPORAL_SERVER) $(TEMPORAL_SQL) &:
	@echo "building the Temporal server $(TEMPORAL_SERVER_VERSION) and temporal-sql-tool into .tools/cluster (once)"
	@mkdir -p $(CLUSTER_TOOLS)/gobin
	GOBIN=$(CLUSTER_TOOLS)/gobin go install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv $(CLUSTER_TOOLS)/gobin/server $(TEMPORAL_SERVER)
	mv $(CLUSTER_TOOLS)/gobin/sql $(TEMPORAL_SQL)

$(TEMPORAL_UI):
	@echo "building the Temporal Web UI server $(TEMPORAL_UI_VERSION) into .tools/cluster (once)"
	@mkdir -p $(CLUSTER_TOOLS)/gobin-ui
	GOBIN=$(CLUSTER_TOOLS)/gobin-ui go install github.com/temporalio/ui-server/v2/cmd/server@$(TEMPORAL_UI_VERSION)
	mv $(CLUSTER_TOOLS)/gobin-ui/server $(TEMPORAL_UI)

haproxy: ## install Debian's HAProxy (the cluster's load balancer)
	@command -v haproxy >/dev/null || { echo "installing haproxy (Debian)"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }

$(STATICCHECK):
	GOBIN=$(TOOLS)/bin go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(WORKFLOWCHECK):
	GOBIN=$(TOOLS)/bin go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

pg: ## make sure the local PostgreSQL runs (starts it, or installs Debian's postgresql)
	@deploy/dev/ensure-postgres.sh

browser: ## install Debian's chromium for the browser tests
	@command -v chromium >/dev/null || { echo "installing chromium (Debian)"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

prism: $(PRISM) ## install Stoplight Prism (npm) for the SendGrid contract tests

$(PRISM):
	npm install --silent --no-audit --no-fund --prefix $(TOOLS)/prism @stoplight/prism-cli@$(PRISM_VERSION)

histories: $(TEMPORAL) pg ## capture the replay baseline: every path's workflow history from real runs into .data/histories (copy them into workflows/testdata/histories)
	@mkdir -p $(CURDIR)/.data/histories
	BATON_SAVE_HISTORY=$(CURDIR)/.data/histories \
	  go test -count=1 -run "TestLeadHandedToRepEndToEnd|TestLifecycleOnTheRealStack|TestOneClickDeclineAndManagerReassign|TestMorePathsOnTheRealStack|TestCampaignDraftToClosedOnTheRealStack|TestSignedBounceReassignsTheLeadOnTheRealStack|TestRefusedOfferReassignsOnTheRealStack|TestRespondAsyncIntakeNeedsNoWorkerAndMakesOneLead|TestBatchIdempotencyAndEventsOnTheRealStack|TestExtendAwayAndEndByHandOnTheRealStack|TestMissedFirstContactOnTheRealStack" ./internal/e2e/
	@echo "saved in .data/histories; copy them into workflows/testdata/histories (releases after this baseline use Worker Versioning: see workflows/replay_test.go)"

bench: $(TEMPORAL) pg ## the six benchmark figures side by side in one run (at most 15 minutes); writes bench/results/ (BENCH_* or flags to scale)
	go run ./bench

bench-tune: $(TEMPORAL) pg ## worker settings side by side (handoff and breach lateness per variant); writes bench/results/
	BENCH_FIGURES=tune go run ./bench

# Long: every lead is routed and offered, about 40 ms of CPU each, so 100,000 take
# hours on two shared cores; BENCH_SCALE_FOR=75m stops opening leads after that long.
bench-scale: $(TEMPORAL) pg ## open leads 1k, 10k, 100k through the CSV import: worker RSS and heap, lateness, cost per lead (BENCH_SCALE_* to scale); writes bench/results/
	BENCH_FIGURES=scale go run ./bench

chaos: build $(TEMPORAL) cluster-tools haproxy pg ## the fault suite on the cluster topology: 1,000 leads, 120 faults of four kinds, then the oracle (CHAOS_FLAGS=-seed N to replay)
	go run ./chaos -topology cluster $(CHAOS_FLAGS)

chaos-dev: build $(TEMPORAL) pg ## the fault suite on make run's topology (dev server on its SQLite file)
	go run ./chaos -topology dev $(CHAOS_FLAGS)

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

images: ## OCI image archives of worker, gateway and starter in .bin/images, built offline with no Docker engine (static, non-root, no shell)
	@mkdir -p $(BIN)/static
	CGO_ENABLED=0 go build -trimpath -ldflags=-w -o $(BIN)/static/ ./worker ./gateway ./starter
	go run ./deploy/images -bin $(BIN)/static -out $(BIN)/images -version $(VERSION)

clean: ## remove build output (keeps .tools/ and .data/)
	rm -rf $(BIN)
