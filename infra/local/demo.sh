#!/usr/bin/env bash
# The main job on the embedded defaults, one step per capability that exists so far.
# Every step prints what it did; outputs land under .reefguard/demo/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export REEFGUARD_STATE_DIR="$ROOT/.reefguard/demo"
OUT="$REEFGUARD_STATE_DIR/out"
mkdir -p "$OUT"
step() { printf '\n[demo %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

step "local stack: private Mosquitto, NATS JetStream and Redis on loopback"
./reefguard services start
trap './reefguard services stop >/dev/null' EXIT
# Every later step talks to this stack.
eval "$(./reefguard services env)"

step "contracts: JSON Schema of every message, topic table"
./reefguard schemas --out "$OUT/schemas"
./reefguard topics

step "shipped observation data"
trainer/.venv/bin/python - <<'PY'
import duckdb
for name in ["gbr_aerial_bleaching_1998_2002", "gbr_dhw_annual_max_1985_2017", "gcbd_reefcheck_1998_2015"]:
    n = duckdb.sql(f"select count(*) from 'data/sample/{name}.parquet'").fetchall()[0][0]
    print(f"  {name}: {n} rows")
PY

step "training set: shipped observations joined point-in-time with features and ViT chips"
./reefguard features export --sample-data --out "$REEFGUARD_STATE_DIR/training-set"

step "train: XGBoost + ViT ensemble, leave-one-event-out against the CRW baseline, ONNX + card, MLflow"
./reefguard train --training-set "$REEFGUARD_STATE_DIR/training-set"

step "heat stress: NOAA CRW HotSpot, DHW and alert levels at Lizard Island 2010-2025, against NOAA's own"
./reefguard heat-stress --sst test/fixtures/crw/lizard_island_crw5km_2010_2025_erddap.nc \
  --climatology test/fixtures/crw/lizard_island_monthly_mean_climatology.tif \
  --out "$OUT/lizard_island_heat_stress.csv" --report

step "edge agent: 2,000 buoy readings through the durable outbox to MQTT and JetStream (--once)"
cat >"$OUT/edge-agent.json" <<JSON
{"AGENT_ID": "demo-gw", "SITE_ID": "18-054", "STATION_ID": "davies-buoy", "SOURCE": "replay",
 "REPLAY_GENERATE_COUNT": 2000, "MODEL_DIR": "test/fixtures/models/v1", "MMM_C": 28,
 "STATE_DIR": "$REEFGUARD_STATE_DIR/edge-agent", "HEALTH_PORT": 0, "LOG_LEVEL": "warn"}
JSON
(
  eval "$(./reefguard services env)"
  ./reefguard edge-agent --config "$OUT/edge-agent.json" --once
) && echo "  edge agent: queue drained, every reading acknowledged by both brokers"

step "serving: promote the newest model through the policy gates, serve it, ask it"
store="$REEFGUARD_STATE_DIR/models/reefguard-bleaching-risk"
newest=""
for dir in "$store"/*/; do
  version=$(basename "$dir")
  [[ "$version" =~ ^[0-9]+$ ]] && { [ -z "$newest" ] || [ "$version" -gt "$newest" ]; } && newest=$version
done
if [ -z "$newest" ]; then
  echo "  no model in $store yet: serving skipped"
else
  # In production a reviewed pull request adds the version to models/approved_models.txt; the
  # demo approves its own freshly trained version in a copy of the policy under $OUT.
  printf 'reefguard-bleaching-risk %s\n' "$newest" >"$OUT/approved_models.txt"
  sed "s#models/approved_models.txt#$OUT/approved_models.txt#" models/promotion-policy.json >"$OUT/promotion-policy.json"
  export REEFGUARD_POLICY_FILE="$OUT/promotion-policy.json"
  # A version that fails a gate stays where it is; the gates' verdicts are printed either way.
  if ./reefguard promote --to challenger --version "$newest"; then
    ./reefguard promote --to champion --version "$newest" || true
  fi
  REEFGUARD_PORT=18080 ./reefguard serve >"$OUT/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 60); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.5; done
  curl -s http://127.0.0.1:18080/readyz && echo
  curl -s "http://127.0.0.1:18080/v1/risk-map?with_data=true" >"$OUT/risk-map.geojson"
  echo "  risk map: $(grep -o '"site_id"' "$OUT/risk-map.geojson" | wc -l) sites with an answer -> $OUT/risk-map.geojson"
  kill "$serve_pid"
  wait "$serve_pid" 2>/dev/null || true
fi

step "evaluate: the champion against the CRW baseline on the shipped GBR events (in-sample)"
if [ -f "$REEFGUARD_STATE_DIR/models/reefguard-bleaching-risk/aliases.json" ]; then
  ./reefguard evaluate --observations data/sample/gbr_aerial_bleaching_1998_2002.parquet \
    --html "$OUT/evaluation.html"
else
  echo "  no champion yet: evaluate skipped"
fi

step "done: outputs in $OUT"
