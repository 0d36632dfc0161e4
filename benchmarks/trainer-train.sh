#!/usr/bin/env bash
# Wall time of a 50-trial tuning run plus a full train on the sample training set, 2 threads,
# against the goal (600 s together). Usage: bash benchmarks/trainer-train.sh [TRAINING_SET_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set_dir=${1:-$work/training-set}
[ -d "$set_dir" ] || ./reefguard features export --sample-data --out "$set_dir" >/dev/null
export REEFGUARD_STATE_DIR=$work/state
py=trainer/.venv/bin/python
start=$(date +%s.%N)
$py -m reefguard_trainer tune --training-set "$set_dir" --trials "${TRIALS:-50}" --threads 2 \
  --storage "sqlite:///$work/study.db" >"$work/tune.json"
mid=$(date +%s.%N)
$py -m reefguard_trainer train --training-set "$set_dir" --threads 2 >"$work/train.txt"
end=$(date +%s.%N)
cat "$work/tune.json" "$work/train.txt"
echo "load average at the end (2-core goal; a shared machine inflates both times): $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$start" -v b="$mid" -v c="$end" 'BEGIN {
  tune = b - a; train = c - b; total = c - a; goal = 600
  printf "tune (%s trials): %.1f s   train: %.1f s   together: %.1f s   goal: %d s   ratio: %.2f\n",
    ENVIRON["TRIALS"] ? ENVIRON["TRIALS"] : 50, tune, train, total, goal, total / goal }'
