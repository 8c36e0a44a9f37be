// Package e2e drives hookflow as it runs in production: every component a
// separate process (receivers, workers, Temporal, Redis), a sender that
// behaves like a provider (it retries any non-2xx or connection error with
// backoff and records what it was told was accepted), faults injected by
// killing and restarting processes, and a reconciliation against the
// workflows' own state that every accepted event was handled exactly once.
//
// The tests are skipped under -short. TestFaults runs against the dev
// topology (the pinned Temporal CLI's dev server on a SQLite file), a short
// form by default and every scenario with HOOKFLOW_E2E=full (make
// test-faults). TestCluster runs against a Temporal server on PostgreSQL
// and needs the binaries and databases make e2e-cluster prepares.
package e2e
