#!/usr/bin/env bash
# Export a face training run as models/faces and redo everything that depends on the
# model: its encoder (retrained against the new G), its evaluation (FD on three seeds,
# projection PSNR on seed 0), the kimg curve, the face benchmarks, BENCHMARKS.md and
# the Lab's pictures (docs/lab).
#   bash bench/release_faces.sh RUN_DIR [best|last]      # which checkpoint (default best)
# About 50 minutes on 2 cores. Stop training first: the benchmarks time the fast path.
# REFINE_STEPS (default 25) is the second search stage written into the manifest; to
# re-choose it, compare with `bench.inpaint_quality ... --sweep refine_steps=0`.
set -euo pipefail
RUN=$(realpath "${1:?usage: bash bench/release_faces.sh RUN_DIR [best|last]}")
CHECKPOINT=${2:-best}
if pgrep -f "training.train " > /dev/null; then
  echo "release_faces: a training run is using the CPU; stop it first (the benchmarks time the fast path)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
OUT=bench/results
OLD=$(mktemp -d)
trap 'rm -rf "$OLD"' EXIT
trap 'echo "release_faces: failed; models/faces may be half replaced: git checkout models/faces restores it" >&2' ERR
cp -r models/faces "$OLD/faces"    # the new encoder starts from the old one
TITLE=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["title"])' models/faces/manifest.json)

python -m training.export "$RUN" --checkpoint "$CHECKPOINT" --name faces --title "$TITLE" \
    --graphs-only --half-weights --refine-steps "${REFINE_STEPS:-25}"
python -m training.train_encoder models/faces --steps 1500 --init "$OLD/faces" --out "$OLD/encoder" --quiet
python -m training.export "$OLD/encoder" --name faces
python -m training.shrink models/faces --roles encoder

for seed in 1 2 0; do   # seed 0 last: its evaluation.json (with the projection) stays with the model
  if [[ $seed == 0 ]]; then
    projection=(--projection-faces 64 --projection-restarts 4 --projection-steps 200)
  else
    projection=(--projection-faces 0)
  fi
  python -m training.evaluate models/faces --seed "$seed" "${projection[@]}" > /dev/null
  cp models/faces/evaluation.json "$OUT/faces_evaluation_seed$seed.json"
done
python -m bench.kimg_curve "$OUT/faces_lineage.json" --merge "$RUN/metrics.csv" --add-model models/faces \
    --out bench/faces_kimg.png
bash bench/run_all.sh faces
# the Lab's pictures of this model (README, "The Lab"): its D's DeepDreams and style transfer, and a morph
python -m bench.lab_gallery --out docs/lab --json "$OUT/lab_style.json"
python -m app.engine.latent morph --model faces --seed-a 3 --seed-b 8 --frames 12 --out docs/lab/morph_faces.gif
