#!/usr/bin/env bash
# The main job on the embedded defaults (`make demo`). `./reefguard demo` runs the whole story
# with timestamped progress and stops every process it started, also on Ctrl-C or failure:
# a private stack under .reefguard/demo, the first model trained from the shipped data and
# promoted, serving, the stream processor and retrain worker, four edge agents replaying a
# heat-wave season onto MQTT and JetStream, drift -> retrain -> canary -> promote or roll
# back, Slack messages in a local receiver, then .reefguard/demo/report.html.
# Options pass through, e.g. `bash infra/local/demo.sh --quick --keep` (see ./reefguard demo --help).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
started=$(date +%s)
# Without options: tiny models (--quick), since full training twice (first model, retrain)
# alone takes most of the 10 minutes on 2 busy cores. `bash infra/local/demo.sh --season 2016`
# (any option) trains the full ensemble.
[ $# -eq 0 ] && set -- --quick
status=0
./reefguard demo "$@" || status=$?

printf '\n[demo %s] heat stress: NOAA CRW HotSpot, DHW and alert levels at Lizard Island 2010-2025, against NOAA'"'"'s own\n' "$(date +%H:%M:%S)"
./reefguard heat-stress --sst test/fixtures/crw/lizard_island_crw5km_2010_2025_erddap.nc \
  --climatology test/fixtures/crw/lizard_island_monthly_mean_climatology.tif \
  --out .reefguard/demo/out/lizard_island_heat_stress.csv --report

printf '\n[demo %s] make demo took %s s (exit %s)\n' "$(date +%H:%M:%S)" "$(($(date +%s) - started))" "$status"
exit "$status"
