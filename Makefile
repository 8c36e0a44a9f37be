# hookflow: `make run` starts everything on this machine, `make test` proves it.

GO       ?= go
BIN      := $(CURDIR)/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# The Temporal CLI is pinned: newer versions fail `go install` (a replace
# directive), and v1.5.1's `server start-dev` runs offline with the Web UI.
TEMPORAL_CLI_VERSION := v1.5.1

.PHONY: build run test test-short lint temporal clean

## build: the hookflow binary, into bin/hookflow
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/hookflow ./cmd/hookflow

## temporal: the pinned Temporal CLI, into bin/temporal, only when missing
temporal: $(BIN)/temporal

$(BIN)/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

## run: build everything needed and start the embedded default (hookflow dev)
run: build temporal
	$(BIN)/hookflow dev

## test: unit, workflow, replay and integration tests (real Temporal dev server and Redis), with the race detector
test: build temporal
	HOOKFLOW_TEMPORAL_CLI=$(BIN)/temporal $(GO) test -race -count=1 -timeout 20m ./...

## test-short: the tests that need no Temporal server
test-short:
	$(GO) test -race -short ./...

## lint: formatting, go vet and the Temporal workflow determinism check
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool workflowcheck ./...

clean:
	rm -rf $(BIN) .hookflow
