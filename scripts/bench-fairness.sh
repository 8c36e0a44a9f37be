#!/usr/bin/env bash
# The fairness benchmark of docs/performance.md (issue 27): tenant a bursts
# new Fenix events while tenant b sends a few at a steady pace, with the
# Temporal server's fair dispatch on or off, one worker and one receiver.
#
#   scripts/bench-fairness.sh dev|cluster on|off [burst] [steady] [steady-rate] [pauses]
#
# dev: a Temporal dev server (the pinned CLI, SQLite in WAL mode); cluster:
# the e2e cluster's server (deploy/temporal on PostgreSQL, databases
# bench_temporal*, recreated). pauses > 0 stops the worker for 6 s of every
# 15 s that many times from about 58 s in (the burst's start), so that a
# backlog builds in the task queue. Needs make build temporal (and
# temporal-server for cluster), Redis at 127.0.0.1:6379 (db 9 is flushed).
# Ports: Temporal 27233 (cluster 2720-2729), receiver 18080, ops 19090-19091.
set -u
KIND=$1 FAIR=$2 BURST=${3:-5000} STEADY=${4:-50} RATE=${5:-1} PAUSES=${6:-0}
cd "$(dirname "$0")/.."
D=$(mktemp -d /tmp/bench-fairness.XXXX)
V=false; [ "$FAIR" = on ] && V=true
export TENANT_A_FENIX_SECRET=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa TENANT_B_FENIX_SECRET=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
export FENIX_CLIENT_SECRET=bench-default-tenant-secret HOOKFLOW_CONFIG=examples/tenants.yaml
export REDIS_URL=redis://127.0.0.1:6379/9 HOOKFLOW_HTTP_ADDR=127.0.0.1:18080
redis-cli -n 9 flushdb >/dev/null
if [ "$KIND" = cluster ]; then
  export TEMPORAL_DB=bench_temporal TEMPORAL_VISIBILITY_DB=bench_temporal_visibility
  deploy/temporal/setup-db.sh bin/temporal-sql-tool > "$D/setup-db.log" 2>&1 || { cat "$D/setup-db.log"; exit 1; }
  sed "s/^  - value: true/  - value: $V/" deploy/temporal/dynamicconfig.yaml > "$D/dynamicconfig.yaml"
  P=2720
  export TEMPORAL_FRONTEND_PORT=$P TEMPORAL_FRONTEND_MEMBERSHIP_PORT=$((P+1)) TEMPORAL_FRONTEND_HTTP_PORT=$((P+2)) \
    TEMPORAL_MATCHING_PORT=$((P+3)) TEMPORAL_MATCHING_MEMBERSHIP_PORT=$((P+4)) TEMPORAL_HISTORY_PORT=$((P+5)) \
    TEMPORAL_HISTORY_MEMBERSHIP_PORT=$((P+6)) TEMPORAL_WORKER_PORT=$((P+7)) TEMPORAL_WORKER_MEMBERSHIP_PORT=$((P+8)) \
    TEMPORAL_METRICS_PORT=$((P+9)) TEMPORAL_DYNAMIC_CONFIG=$D/dynamicconfig.yaml TEMPORAL_ADDRESS=127.0.0.1:$P
  bin/temporal-server --root "$PWD" --config deploy/temporal --env development --allow-no-auth start > "$D/temporal.log" 2>&1 &
  TP=$!
  for _ in $(seq 90); do
    bin/temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n default --retention 24h >/dev/null 2>&1
    bin/temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n default >/dev/null 2>&1 && break
    sleep 1
  done
else
  export TEMPORAL_ADDRESS=127.0.0.1:27233
  bin/temporal server start-dev --ip 127.0.0.1 --port 27233 --headless --db-filename "$D/dev.db" --log-level warn \
    --dynamic-config-value frontend.enableServerVersionCheck=false \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --dynamic-config-value matching.enableFairness=$V > "$D/temporal.log" 2>&1 &
  TP=$!
fi
for _ in $(seq 60); do bin/hookflow setup >/dev/null 2>&1 && break; sleep 2; done
HOOKFLOW_METRICS_ADDR=127.0.0.1:19091 bin/hookflow worker > "$D/worker.log" 2>&1 & WP=$!
HOOKFLOW_METRICS_ADDR=127.0.0.1:19090 bin/hookflow serve > "$D/serve.log" 2>&1 & SP=$!
for _ in $(seq 60); do
  curl -s -o /dev/null 127.0.0.1:19090/readyz && curl -s -o /dev/null 127.0.0.1:19091/readyz && break
  sleep 1
done
if [ "$PAUSES" -gt 0 ]; then
  ( sleep 58; for _ in $(seq "$PAUSES"); do kill -STOP $WP; sleep 6; kill -CONT $WP; sleep 9; done ) &
fi
echo "$KIND server, fair dispatch $FAIR, worker pauses $PAUSES; logs in $D"
bin/hookflow bench --fairness --burst-tenant a --steady-tenant b --burst "$BURST" --steady "$STEADY" --steady-rate "$RATE" \
  --url http://127.0.0.1:18080 --metrics-url http://127.0.0.1:19091/metrics
kill -CONT $WP 2>/dev/null; kill $SP $WP; wait $SP $WP 2>/dev/null; kill -INT $TP; wait $TP 2>/dev/null
