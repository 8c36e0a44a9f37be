# hookflow: `make run` starts everything on this machine, `make test` proves it.

GO       ?= go
BIN      := $(CURDIR)/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# The Temporal CLI is pinned: newer versions fail `go install` (a replace
# directive), and v1.5.1's `server start-dev` runs offline with the Web UI.
TEMPORAL_CLI_VERSION := v1.5.1

# The Temporal server and its SQL tool for make e2e-cluster, one version for
# both (the schemas are embedded in the tool). About 3 minutes to build.
TEMPORAL_SERVER_VERSION := v1.29.1

# Helm, for the chart's tests (deploy/helm): built from the Go module proxy
# like the Temporal CLI, pinned.
HELM_VERSION := v4.3.2

.PHONY: build run test test-short test-chart test-faults e2e-cluster lint temporal temporal-server helm clean

## build: the hookflow binary, into bin/hookflow
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/hookflow ./cmd/hookflow

## temporal: the pinned Temporal CLI, into bin/temporal, only when missing
temporal: $(BIN)/temporal

$(BIN)/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

## temporal-server: the pinned Temporal server and SQL tool, into bin/, only when missing
temporal-server: $(BIN)/temporal-server $(BIN)/temporal-sql-tool

# go install names the binaries after their packages (server, sql): build
# them in a scratch GOBIN and move them to their usual names.
$(BIN)/temporal-server:
	@mkdir -p $(BIN)/.gobin
	GOBIN=$(BIN)/.gobin $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.gobin/server $@

$(BIN)/temporal-sql-tool:
	@mkdir -p $(BIN)/.gobin
	GOBIN=$(BIN)/.gobin $(GO) install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.gobin/sql $@

## helm: the pinned Helm, into bin/helm, only when missing
helm: $(BIN)/helm

$(BIN)/helm:
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

## run: build everything needed and start the embedded default (hookflow dev)
run: build temporal
	$(BIN)/hookflow dev

## test: unit, workflow, replay and integration tests (real Temporal dev server and Redis), with the race detector;
## the short fault suite, and the short cluster run when PostgreSQL answers at 127.0.0.1:5432; then the Helm chart's tests
test: build temporal temporal-server helm
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && deploy/temporal/setup-db.sh $(BIN)/temporal-sql-tool; then \
		export HOOKFLOW_E2E_CLUSTER=$(BIN)/temporal-server HOOKFLOW_E2E_SIZE=3; \
	else echo "test: no PostgreSQL at 127.0.0.1:5432, e2e TestCluster skipped"; fi; \
	HOOKFLOW_TEMPORAL_CLI=$(BIN)/temporal HOOKFLOW_BIN=$(BIN)/hookflow $(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory test-chart

## test-chart: helm lint and helm template of deploy/helm/hookflow (default values and the full example), every
## manifest decoded strictly into its Kubernetes type and checked; a Go module of its own (deploy/helm/chart_test)
test-chart: helm
	cd deploy/helm/chart_test && HOOKFLOW_HELM=$(BIN)/helm $(GO) test -count=1 -timeout 5m ./...

## test-faults: the fault suite, every scenario, against the dev topology (separate processes)
test-faults: build temporal
	HOOKFLOW_E2E=full HOOKFLOW_BIN=$(BIN)/hookflow HOOKFLOW_TEMPORAL_CLI=$(BIN)/temporal \
		$(GO) test -count=1 -timeout 30m -run 'TestFaults' -v ./e2e

## e2e-cluster: a Temporal server on PostgreSQL (databases recreated), two receivers, two workers, every provider
e2e-cluster: build temporal temporal-server
	deploy/temporal/setup-db.sh $(BIN)/temporal-sql-tool
	HOOKFLOW_E2E_CLUSTER=$(BIN)/temporal-server HOOKFLOW_BIN=$(BIN)/hookflow HOOKFLOW_TEMPORAL_CLI=$(BIN)/temporal \
		$(GO) test -count=1 -timeout 30m -run 'TestCluster' -v ./e2e

## test-short: the tests that need no Temporal server
test-short:
	$(GO) test -race -short ./...

## lint: formatting, go vet, the Temporal workflow determinism check, imports only running down, and recorded histories only ever added
lint:
	scripts/check-testdata.sh
	scripts/check-layers.sh
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd deploy/helm/chart_test && $(GO) vet ./...
	$(GO) tool workflowcheck ./...

clean:
	rm -rf $(BIN) .hookflow
