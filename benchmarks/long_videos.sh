#!/usr/bin/env bash
# Leave-one-video-out on the long CDnet videos of ../shared/data, every video run from frame 1 and
# scored over its whole temporalROI with the official rules, every method in the same way:
#   - office and pedestrians: the shipped default (trained on highway, traffic and the UCSD clips,
#     never on them);
#   - highway and traffic: the same recipe trained without the scored video;
#   - MOG2, KNN, GSOC, SuBSENSE, LOBSTER on all four (SuBSENSE/LOBSTER need pip install '.[bench]').
# About 40 minutes on 2 idle cores (two 3000-step trainings, SuBSENSE and LOBSTER at ~15 fps).
# Run from the repository root with the train extra installed.
set -euo pipefail
DATA=${DATA:-../shared/data}
OUT=${OUT:-out/long_videos}
RECIPE=(--minutes 1000 --max-steps 3000 --paste 0.3 --seed 0 --widths 8 16 32 --embed 8 16 24 --rule-folds 0 --temporal-mean 2)

streamcd bench cdnet --dataset "$DATA/cdnet2014" --videos baseline/office baseline/pedestrians \
    --methods streamcd --out "$OUT/unseen-default"
for video in baseline/highway cameraJitter/traffic; do
  name=$(basename "$video")
  streamcd train --data "$DATA" --out "runs/lovo-$name" "${RECIPE[@]}" \
      --exclude "$video" baseline/office baseline/pedestrians
  streamcd export "runs/lovo-$name/checkpoint.pt" --out "runs/lovo-$name/export" --name "lovo-$name"
  streamcd bench cdnet --dataset "$DATA/cdnet2014" --videos "$video" --methods streamcd \
      --model "runs/lovo-$name/export/lovo-$name.json" --out "$OUT/lovo-$name"
done
streamcd bench cdnet --dataset "$DATA/cdnet2014" --methods mog2,knn,gsoc,subsense,lobster --out "$OUT/classic"
# scene-specific: the shipped models on the cameras they were trained on
streamcd bench cdnet --dataset "$DATA/cdnet2014" --videos baseline/highway cameraJitter/traffic \
    --methods streamcd --out "$OUT/seen-default"
python benchmarks/long_videos_table.py "$OUT"
