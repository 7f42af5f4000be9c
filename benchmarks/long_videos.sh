#!/usr/bin/env bash
# Leave-one-video-out on the long CDnet videos of ../shared/data, every video run from frame 1 and
# scored over its whole temporalROI with the official rules, every method in the same way:
#   - streamcd: for each video, the `default` recipe trained without it (on the other CDnet videos
#     and the UCSD clips), with a shadow network trained without it (seed 0 for every SEED);
#   - MOG2, KNN, GSOC, SuBSENSE, LOBSTER on all four (SuBSENSE/LOBSTER need pip install '.[bench]').
# About 40 minutes on 2 idle cores (four 3000-step trainings, SuBSENSE and LOBSTER at ~15 fps).
# Run from the repository root with the train extra installed. SEED=1 (or 2) trains the networks
# with another seed (runs/lovo-<video>-s1, results in out/long_videos-s1): the model card's columns.
set -euo pipefail
DATA=${DATA:-../shared/data}
SEED=${SEED:-0}
SUFFIX=$([ "$SEED" = 0 ] || echo "-s$SEED")
OUT=${OUT:-out/long_videos$SUFFIX}
RECIPE=(--minutes 1000 --max-steps 3000 --paste 0.3 --seed "$SEED" --widths 8 16 32 --embed 8 16 24 --temporal-mean 2)

for video in baseline/highway baseline/office baseline/pedestrians cameraJitter/traffic; do
  name=lovo-$(basename "$video")$SUFFIX
  shadows=runs/shadows-lovo-$(basename "$video")   # the shadow network never sees the video either
  [ -f "$shadows/shadows.onnx" ] || streamcd train-shadows --data "$DATA" --out "$shadows" --seed 0 --exclude "$video"
  streamcd train --data "$DATA" --out "runs/$name" "${RECIPE[@]}" --exclude "$video"
  streamcd export "runs/$name/checkpoint.pt" --out "runs/$name/export" --name "$name" \
      --shadows "$shadows/shadows.onnx"
  streamcd bench cdnet --dataset "$DATA/cdnet2014" --videos "$video" --methods streamcd \
      --model "runs/$name/export/$name.json" --out "$OUT/$name"
done
streamcd bench cdnet --dataset "$DATA/cdnet2014" --methods mog2,knn,gsoc,subsense,lobster --out "$OUT/classic"
# scene-specific: the shipped default on the cameras it was trained on
streamcd bench cdnet --dataset "$DATA/cdnet2014" --methods streamcd --out "$OUT/seen-default"
python benchmarks/long_videos_table.py "$OUT"
