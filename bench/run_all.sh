#!/usr/bin/env bash
# Rerun the benchmarks into bench/results/, then render BENCHMARKS.md.
#   bash bench/run_all.sh [all|speed|faces|mnist]
# Needs ../shared/datasets (or REGEN_DATA). "all" takes about an hour on 2 cores;
# YEH=1 adds the paper's settings to the time-to-quality runs (about 2 minutes a face).
# Image counts: FACE_LIMIT (100), MNIST_LIMIT (128: the judge's accuracy needs many),
# TTQ_LIMIT (the fast path's time to quality, faces and digits: 100), YEH_LIMIT (8)
# and YEH_LIMIT_MNIST (32).
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
DATA=${REGEN_DATA:-../shared/datasets}
OUT=bench/results
mkdir -p "$OUT"
PART=${1:-all}

if [[ $PART == all || $PART == speed ]]; then
  python -m bench.inpaint_speed --model faces --batch 1,16,64 --json "$OUT/speed.json"
  python -m bench.server_latency --model faces --restarts 16 --json "$OUT/latency.json"
  for mode in eventlet threading; do
    python -m bench.server_load --model faces --clients 20 --mode $mode --json "$OUT/load_$mode.json"
    python -m bench.socket_stall --mode $mode --repeats 5 --json "$OUT/socket_stall_$mode.json"
  done
  if command -v redis-server >/dev/null; then   # the distributed mode: a throwaway redis-server, 2 web processes
    faces_only=$(mktemp -d) && ln -s "$PWD/models/faces" "$faces_only/faces"
    python -m bench.server_load --models-dir "$faces_only" --model faces --clients 20 \
        --json "$OUT/load_embedded_ref.json"
    for n in 1 2; do
      python -m bench.server_load --models-dir "$faces_only" --model faces --clients 20 --broker local \
          --webs 2 --workers $n --json "$OUT/load_broker_${n}worker$([[ $n == 1 ]] || echo s).json"
    done
    rm -r "$faces_only"
  fi
fi
if [[ $PART == all || $PART == faces ]]; then
  python -m bench.inpaint_quality --model faces --data "$DATA/faces64_val.npz" --masks center,half,eyes,mouth \
      --methods regen,telea,ns --limit "${FACE_LIMIT:-100}" --json "$OUT/quality_faces.json"
  python -m bench.inpaint_quality --model faces --data "$DATA/faces64_val.npz" --masks center \
      --methods regen-fast,telea --limit "${TTQ_LIMIT:-100}" --time-to-quality --json "$OUT/ttq_faces.json"
  if [[ ${YEH:-0} == 1 ]]; then   # the paper's settings beside the fast path: about 2 minutes a face
    python -m bench.inpaint_quality --model faces --data "$DATA/faces64_val.npz" --masks center \
        --methods regen-fast,yeh,telea --limit "${YEH_LIMIT:-8}" --time-to-quality --json "$OUT/ttq_faces_yeh.json"
  fi
fi
if [[ $PART == all || $PART == mnist ]]; then
  python -m bench.inpaint_quality --model mnist --data "$DATA/mnist.npz" --masks bottom \
      --methods regen,telea,ns --limit "${MNIST_LIMIT:-128}" --json "$OUT/quality_mnist.json"
  python -m bench.inpaint_quality --model mnist --data "$DATA/mnist.npz" --masks bottom \
      --methods regen-fast,telea --limit "${TTQ_LIMIT:-100}" --time-to-quality --json "$OUT/ttq_mnist.json"
  if [[ ${YEH:-0} == 1 ]]; then
    python -m bench.inpaint_quality --model mnist --data "$DATA/mnist.npz" --masks bottom \
        --methods regen-fast,yeh,telea --limit "${YEH_LIMIT_MNIST:-32}" --time-to-quality --json "$OUT/ttq_mnist_yeh.json"
  fi
fi
python -m bench.curves "$OUT"/ttq_*.json --out bench/time_to_quality.png
python -m bench.report --notes bench/NOTES.md
