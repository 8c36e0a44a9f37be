package e2e

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// ownPostgres is a PostgreSQL cluster of the suite's own, created with
// initdb in a temporary folder, so a scenario can restart it: never the
// machine's shared one.
type ownPostgres struct {
	t    testing.TB
	dir  string // data directory
	port int
	as   []string // runuser -u postgres -- when running as root (initdb refuses root)
}

// startOwnPostgres creates and starts the cluster; nil when initdb or
// pg_ctl is not on PATH.
func startOwnPostgres(t testing.TB) *ownPostgres {
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("no %s on PATH: the cluster runs on the machine's PostgreSQL, without the restart scenario", tool)
			return nil
		}
	}
	root, err := os.MkdirTemp("", "hookflow-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	pg := &ownPostgres{t: t, dir: filepath.Join(root, "data"), port: freeLowPort(t)}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Logf("running as root with no postgres user: the cluster runs on the machine's PostgreSQL")
			return nil
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(root, uid, gid); err != nil {
			t.Fatal(err)
		}
		pg.as = []string{"runuser", "-u", "postgres", "--"}
	}
	pg.run("initdb", "-D", pg.dir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	pg.ctl("start")
	t.Cleanup(func() { pg.ctl("stop", "-m", "immediate") })
	return pg
}

func (pg *ownPostgres) addr() string { return "127.0.0.1:" + strconv.Itoa(pg.port) }

// env points the Temporal server's configuration and setup-db.sh at it.
func (pg *ownPostgres) env() []string {
	return []string{"TEMPORAL_PG_ADDR=" + pg.addr(), "TEMPORAL_PG_HOST=127.0.0.1", "TEMPORAL_PG_PORT=" + strconv.Itoa(pg.port)}
}

// ctl runs pg_ctl on the cluster (start, restart, stop), waiting for it.
func (pg *ownPostgres) ctl(action string, args ...string) {
	opts := "-p " + strconv.Itoa(pg.port) + " -k " + filepath.Dir(pg.dir) + " -c listen_addresses=127.0.0.1 -c fsync=off"
	argv := append([]string{"pg_ctl", "-D", pg.dir, "-l", filepath.Join(filepath.Dir(pg.dir), "postgres.log"), "-w", "-o", opts, action}, args...)
	pg.run(argv...)
}

func (pg *ownPostgres) run(argv ...string) {
	argv = append(slices.Clone(pg.as), argv...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
		pg.t.Fatalf("%v: %v\n%s", argv, err, out)
	}
}

// setupDB creates the Temporal server's databases on pg with the SQL tool
// built beside server.
func (pg *ownPostgres) setupDB(server string) {
	root, _ := filepath.Abs("..")
	cmd := exec.Command(filepath.Join(root, "deploy/temporal/setup-db.sh"), filepath.Join(filepath.Dir(server), "temporal-sql-tool"))
	cmd.Env = append(os.Environ(), pg.env()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		pg.t.Fatalf("setup-db on the suite's PostgreSQL: %v\n%s", err, out)
	}
}

// postgresRestart restarts the suite's own PostgreSQL under the cluster
// while the load runs: the server's stores fail and reconnect, receivers
// answer 503 meanwhile, and nothing is lost or doubled.
func postgresRestart(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	if tp.pg == nil {
		t.Skip("no PostgreSQL cluster of the suite's own (initdb, pg_ctl)")
	}
	return midLoad(ctx, t, tp, prefix, size, "cluster-postgres-restart", func(*sender, int) {
		start := time.Now()
		tp.pg.ctl("restart", "-m", "fast")
		t.Logf("PostgreSQL restarted in %s", time.Since(start).Round(time.Millisecond))
	})
}
