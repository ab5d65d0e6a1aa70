#!/usr/bin/env bash
# Rerun every benchmark into bench/results/, then render BENCHMARKS.md.
# Needs ../shared/datasets (or REGEN_DATA). Takes about half an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
DATA=${REGEN_DATA:-../shared/datasets}
OUT=bench/results
mkdir -p "$OUT"
LIMIT=${LIMIT:-16}

python -m bench.inpaint_speed --model faces --batch 1,16,64 --json "$OUT/speed.json"
python -m bench.server_latency --model faces --restarts 16 --json "$OUT/latency.json"
python -m bench.server_load --model faces --clients 20 --json "$OUT/load.json"
python -m bench.inpaint_quality --model faces --data "$DATA/faces64_val.npz" --masks center,half \
    --methods regen,telea,ns --limit "$LIMIT" --json "$OUT/quality_faces.json"
python -m bench.inpaint_quality --model mnist --data "$DATA/mnist.npz" --masks bottom,center \
    --methods regen,telea,ns --limit "$LIMIT" --json "$OUT/quality_mnist.json"
python -m bench.report --notes bench/NOTES.md
