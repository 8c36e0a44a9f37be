package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/workflows"
)

// TestCluster runs hookflow's production topology: the Temporal server
// (deploy/temporal: PostgreSQL, four history shards, the dynamic config
// with the visibility limits) with the default namespace registered,
// hookflow setup, two receivers and two workers. It drives every
// provider's lifecycle through both receivers, then the Temporal server
// and a worker are SIGKILLed mid-load and restarted.
//
// HOOKFLOW_E2E_CLUSTER is the temporal-server binary; make e2e-cluster
// builds it and recreates the databases first. HOOKFLOW_E2E_SIZE sets the
// entities per provider kind (default 10).
func TestCluster(t *testing.T) {
	server := os.Getenv("HOOKFLOW_E2E_CLUSTER")
	if testing.Short() || server == "" {
		t.Skip("needs a Temporal server binary and its databases: make e2e-cluster")
	}
	size := 10
	if n, err := strconv.Atoi(os.Getenv("HOOKFLOW_E2E_SIZE")); err == nil && n > 0 {
		size = n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	tp := newTopology(t)
	// On a PostgreSQL of its own when it can create one, so it may restart
	// it; else on the machine's, which make recreated the databases on.
	if tp.pg = startOwnPostgres(t); tp.pg != nil {
		tp.pg.setupDB(server)
	}
	tp.startClusterTemporal(ctx, server)
	tp.startRedis()
	tp.setupWhenNamespaceKnown(ctx)
	tp.startReceivers(2)
	tp.startWorkers(2)

	nonce := fmt.Sprintf("%06x", time.Now().UnixNano()&0xffffff)
	var lines []string
	for _, sc := range []scenario{
		{name: "cluster-lifecycle", run: steady},
		{name: "cluster-temporal-kill", run: temporalKill},
		{name: "cluster-worker-kill", run: workerKill},
		{name: "cluster-postgres-restart", run: postgresRestart},
	} {
		t.Run(sc.name, func(t *testing.T) {
			got := sc.run(ctx, t, tp, sc.name+"-"+nonce, size)
			got.scenario = sc.name
			lines = append(lines, got.line())
			t.Log(got.line())
			if !got.ok() {
				t.Errorf("%s:\n  %s", got.line(), strings.Join(clip(got.problems, 20), "\n  "))
			}
		})
	}
	t.Run("cluster-identifiers", func(t *testing.T) { clusterIdentifiers(ctx, t, tp, nonce) })
	fmt.Println(strings.Join(lines, "\n"))
}

// clusterIdentifiers: over PostgreSQL, an order ID outside ASCII is
// accepted and applied under its encoded workflow ID, and one whose
// workflow ID the schema cannot hold is refused for good (400), never
// answered 503 for ever.
func clusterIdentifiers(ctx context.Context, t *testing.T, tp *topology, nonce string) {
	post := func(orderID string) (int, string) {
		body := mustJSON(map[string]any{
			"event": "order.status.change", "id": "evt-ids-" + nonce + "-" + fmt.Sprint(len(orderID)),
			"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
			"data":      map[string]any{"orderId": orderID, "orderStatus": "pending"},
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tp.receiverURLs[0]+"/webhooks/phoenix", bytes.NewReader(body))
		must(t, err)
		req.Header = jsonHeader()
		req.Header.Set("Authorization", "Bearer "+phoenixSecret)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	orderID := "Müller-" + nonce
	tp.api.set(orderID, "pending")
	if code, body := post(orderID); code != http.StatusOK {
		t.Errorf("order %q: %d %s, want 200", orderID, code, body)
	}
	wfID := event.WorkflowID("phoenix", "order", orderID)
	must(t, waitUntil(ctx, "the non-ASCII order's status", func() bool {
		v, err := tp.tc.QueryWorkflow(ctx, wfID, "", workflows.QueryState)
		var st workflows.State
		return err == nil && v.Get(&st) == nil && st.Status == "pending" && st.EntityID == orderID
	}))
	long := nonce + strings.Repeat("x", 250-len(nonce)) // a workflow ID of 264 bytes
	if code, body := post(long); code != http.StatusBadRequest || !strings.Contains(body, "invalid data.orderId") {
		t.Errorf("a 250-byte order ID: %d %s, want 400 invalid data.orderId", code, body)
	}
}

// startClusterTemporal starts the Temporal server from deploy/temporal on
// free ports and registers the default namespace.
func (tp *topology) startClusterTemporal(ctx context.Context, server string) {
	root, err := filepath.Abs("..")
	if err != nil {
		tp.t.Fatal(err)
	}
	port := func() string { return strconv.Itoa(freeLowPort(tp.t)) }
	frontend := port()
	tp.temporalAddr = "127.0.0.1:" + frontend
	env := os.Environ()
	if tp.pg != nil {
		env = append(env, tp.pg.env()...)
	}
	env = append(env,
		"TEMPORAL_FRONTEND_PORT="+frontend,
		"TEMPORAL_FRONTEND_MEMBERSHIP_PORT="+port(), "TEMPORAL_FRONTEND_HTTP_PORT="+port(),
		"TEMPORAL_MATCHING_PORT="+port(), "TEMPORAL_MATCHING_MEMBERSHIP_PORT="+port(),
		"TEMPORAL_HISTORY_PORT="+port(), "TEMPORAL_HISTORY_MEMBERSHIP_PORT="+port(),
		"TEMPORAL_WORKER_PORT="+port(), "TEMPORAL_WORKER_MEMBERSHIP_PORT="+port(),
		"TEMPORAL_METRICS_PORT="+port(),
		"TEMPORAL_DYNAMIC_CONFIG="+filepath.Join(root, "deploy/temporal/dynamicconfig.yaml"),
	)
	tp.temporal = tp.ps.add("temporal", env, tp.temporalReady,
		server, "--root", root, "--config", "deploy/temporal", "--env", "development", "--allow-no-auth", "start")
	tp.ps.start(tp.temporal)
	tp.dial()

	nc, err := client.NewNamespaceClient(client.Options{HostPort: tp.temporalAddr})
	if err != nil {
		tp.t.Fatalf("namespace client: %v", err)
	}
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        "default",
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		tp.t.Fatalf("register namespace default: %v", err)
	}
}

// freeLowPort is a free loopback port below 32768: the server stores its
// services' ports in a smallint column (cluster_membership), and the
// kernel's ephemeral ports start above it.
func freeLowPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.N(12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

// setupWhenNamespaceKnown runs hookflow setup until it succeeds: a new
// namespace reaches every service's namespace cache within seconds.
func (tp *topology) setupWhenNamespaceKnown(ctx context.Context) {
	var last []byte
	err := eventually(ctx, time.Minute, func() (bool, string) {
		cmd := exec.Command(tp.bin, "setup")
		cmd.Env = tp.hookflowEnv()
		out, err := cmd.CombinedOutput()
		last = out
		return err == nil, string(out)
	})
	if err != nil {
		tp.t.Fatalf("hookflow setup: %v\n%s", err, last)
	}
}
