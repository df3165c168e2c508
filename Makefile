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

TEMPORAL      := $(TOOLS)/bin/temporal
STATICCHECK   := $(TOOLS)/bin/staticcheck
WORKFLOWCHECK := $(TOOLS)/bin/workflowcheck
PRISM         := $(TOOLS)/prism/node_modules/.bin/prism
export BATON_TEMPORAL_CLI := $(TEMPORAL)
export BATON_PRISM := $(PRISM)

.PHONY: help run build test test-unit search lint tools pg browser prism histories bench bench-tune clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: build $(TEMPORAL) pg ## start Temporal (UI :8233), PostgreSQL, the worker and the gateway (:8080); Ctrl-C stops all
	@deploy/dev/run.sh

build: ## build worker, gateway and starter into .bin/
	@mkdir -p $(BIN)
	go build -o $(BIN)/ ./worker ./gateway ./starter

test: $(TEMPORAL) pg browser prism ## every test: unit, workflow, replay, store, integration, browser, SendGrid contract
	go test -count=1 -timeout 20m ./...

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
	  go test -count=1 -run "TestLeadHandedToRepEndToEnd|TestLifecycleOnTheRealStack|TestOneClickDeclineAndManagerReassign|TestMorePathsOnTheRealStack|TestCampaignDraftToClosedOnTheRealStack|TestSignedBounceReassignsTheLeadOnTheRealStack|TestRefusedOfferReassignsOnTheRealStack|TestRespondAsyncIntakeNeedsNoWorkerAndMakesOneLead|TestBatchIdempotencyAndEventsOnTheRealStack|TestExtendAwayAndEndByHandOnTheRealStack" ./internal/e2e/
	@echo "saved in .data/histories; copy them into workflows/testdata/histories (releases after this baseline use Worker Versioning: see workflows/replay_test.go)"

bench: $(TEMPORAL) pg ## the six benchmark figures side by side in one run (at most 15 minutes); writes bench/results/ (BENCH_* or flags to scale)
	go run ./bench

bench-tune: $(TEMPORAL) pg ## worker settings side by side (handoff and breach lateness per variant); writes bench/results/
	BENCH_FIGURES=tune go run ./bench

clean: ## remove build output (keeps .tools/ and .data/)
	rm -rf $(BIN)
