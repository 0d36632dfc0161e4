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

step "1/3 local stack: private Mosquitto, NATS JetStream and Redis on loopback"
./reefguard services start
trap './reefguard services stop >/dev/null' EXIT

step "2/3 contracts: JSON Schema of every message, topic table"
./reefguard schemas --out "$OUT/schemas"
./reefguard topics

step "3/3 shipped observation data"
trainer/.venv/bin/python - <<'PY'
import duckdb
for name in ["gbr_aerial_bleaching_1998_2002", "gbr_dhw_annual_max_1985_2017", "gcbd_reefcheck_1998_2015"]:
    n = duckdb.sql(f"select count(*) from 'data/sample/{name}.parquet'").fetchone()[0]
    print(f"  {name}: {n} rows")
PY

step "done: outputs in $OUT"
