#!/usr/bin/env bash
# Both model-quality protocols of the model card (issue 4), from ../shared/data:
#  - unseen video: both shipped recipes (accurate -> scene/, default = fast -> fast/) trained 5
#    times, each time without one fold of 4 videos (CDnet + UCSD; video i of the sorted keys is
#    in fold i mod 5), scored on the left-out videos with the per-scene threshold; the accurate
#    folds also with the card threshold alone (default/, same checkpoints);
#  - ablation: recipe variants trained without fold 1 (cameraJitter/traffic + 3 UCSD clips),
#    each scored on the left-out videos (unseen) and on the held-out frames of the others (seen).
# MOG2, KNN and SuBSENSE (bgslibrary) run once on every video into runs/folds/baselines.
# Every run: 2000 steps on 1 thread (capped at 14 min) unless said; the whole script takes ~7 h on 2 cores.
# Rows measured before 2026-11-30 evening used the plain run-time median: they run with --median all;
# the rows of the "Run-time reference" section (still median, 3000-step default) follow them.
# The per-scene threshold rule was removed after 2026-12-06: every run below now scores with the
# card threshold (the --rule-folds / --card-threshold options, benchmarks/scene_threshold.py and
# threshold_headroom.py are gone), so rows the docs give with the rule (every run that had no
# --card-threshold) come out differently; commit 27f8c3d and earlier reproduce them as documented.
# Run from the repository root: bash benchmarks/model_quality.sh
set -euo pipefail
DATA=${DATA:-../shared/data}
RUNS=${RUNS:-runs/folds}
B0="--baseline-dir $RUNS/baselines"
# Rows measured before 2026-12-01 fitted the per-scene rule on the training videos (--rule-folds 0),
# thresholded each frame's map alone (--temporal-mean 1) and had no mask clean-up (--close-px 0
# --min-area-fraction 0); the last two blocks measure these changes.
OLD="--close-px 0 --min-area-fraction 0"
run() { python benchmarks/unseen_folds.py --data "$DATA" --max-steps 2000 --minutes 14 --threads 1 --median all --temporal-mean 1 $OLD "$@"; }
fast() { run --widths 8 16 32 --embed 8 16 24 "$@"; }   # the `default` (fast) recipe
python benchmarks/unseen_folds.py --data "$DATA" --baselines mog2,knn,subsense --out "$RUNS/baselines"
for fold in 0 1 2 3 4; do
  run --fold "$fold" --out "$RUNS/scene"
  run --fold "$fold" --checkpoints "$RUNS/scene" --out "$RUNS/default"
  fast --fold "$fold" --out "$RUNS/fast"
  # the step budget of `default`: 1000, 3000 and 6000 steps; seed 1 at 2000 and 3000 steps
  for steps in 1000 3000 6000; do
    fast --fold "$fold" --max-steps "$steps" --minutes 20 --out "$RUNS/fast$((steps / 1000))k"
  done
  for steps in 2000 3000; do
    fast --fold "$fold" --max-steps "$steps" --seed 1 --out "$RUNS/fast$((steps / 1000))k-seed1"
  done
done
# the run-time "still" median (now the default): the same checkpoints re-scored, the shipped
# 3000-step recipe trained with the current code, and the recipe changes tried with it
still() { python benchmarks/unseen_folds.py --data "$DATA" --minutes 14 --threads 2 --widths 8 16 32 --embed 8 16 24 --median still --temporal-mean 1 $OLD "$@"; }
for fold in 0 1 2 3 4; do
  for r in fast3k fast3k-seed1 fast2k-seed1 fast6k; do
    still --fold "$fold" --checkpoints "$RUNS/$r" --out "$RUNS/$r-still"
  done
  still --fold "$fold" --max-steps 3000 --out "$RUNS/default3k"
  still --fold "$fold" --max-steps 2000 --out "$RUNS/base2k"
  still --fold "$fold" --max-steps 2000 --reference-median still --out "$RUNS/still"
  still --fold "$fold" --max-steps 2000 --alternates 0.5 --out "$RUNS/alt05"
  run --fold "$fold" --threads 2 --widths 8 16 32 --embed 8 16 24 --ucsd-weight 0.6 --out "$RUNS/u06"
done
# the cross-fitted rule (was --rule-folds 4: 4 extra networks per fold, each without a
# quarter of the fold's training videos; ~12 min per fold) on the default3k networks, then the
# capped temporal mean of 2 distance maps on top (same networks and rules, re-scored only)
cross() { python benchmarks/unseen_folds.py --data "$DATA" --threads 2 --widths 8 16 32 --embed 8 16 24 --median still "$@"; }
for fold in 0 1 2 3 4; do
  cross --fold "$fold" --temporal-mean 1 $OLD --checkpoints "$RUNS/default3k" --out "$RUNS/crossfit4"
  cross --fold "$fold" --temporal-mean 2 $OLD --checkpoints "$RUNS/crossfit4" --out "$RUNS/crossfit4-tm2"
  cross --fold "$fold" --temporal-mean 1 $OLD --checkpoints "$RUNS/fast3k-seed1" --out "$RUNS/crossfit4-seed1"
done
python benchmarks/unseen_folds.py --summary "$RUNS"/{default3k,crossfit4,crossfit4-tm2,fast3k-seed1-still,crossfit4-seed1} $B0
# the shipped post-processing (2026-12-01): closing 5 px + blobs under 0.1 % of the frame removed
# (the config defaults), with and without the card's capped 2-frame temporal mean; the same
# networks and rules re-scored; then the whole recipe trained and cross-fitted with seed 2
for fold in 0 1 2 3 4; do
  cross --fold "$fold" --temporal-mean 2 --checkpoints "$RUNS/crossfit4" --out "$RUNS/crossfit4-clean"
  cross --fold "$fold" --temporal-mean 1 --checkpoints "$RUNS/crossfit4" --out "$RUNS/crossfit4-clean-tm1"
  cross --fold "$fold" --temporal-mean 2 --checkpoints "$RUNS/crossfit4-seed1" --out "$RUNS/crossfit4-seed1-clean"
  cross --fold "$fold" --temporal-mean 2 --max-steps 3000 --minutes 14 --seed 2 --out "$RUNS/seed2"
done
python benchmarks/unseen_folds.py --summary "$RUNS"/{crossfit4,crossfit4-tm2,crossfit4-clean-tm1,crossfit4-clean,crossfit4-seed1,crossfit4-seed1-clean,seed2} $B0
python benchmarks/unseen_folds.py --summary "$RUNS/crossfit4-clean" $B0 --per-video unseen
python benchmarks/unseen_folds.py --summary "$RUNS"/{fast3k,fast3k-still,fast3k-seed1,fast3k-seed1-still,fast2k-seed1-still,fast6k-still,default3k,base2k,still,alt05,u06} $B0
python benchmarks/unseen_folds.py --summary "$RUNS/default3k" $B0 --per-video unseen
# the ablation rows are scored with the card threshold (as measured in session 2)
run --fold 1 --tau 0 --out "$RUNS/tau0"
run --fold 1 --tau 0.2 --out "$RUNS/tau0.2"
run --fold 1 --tau 0.4 --out "$RUNS/tau0.4"
run --fold 1 --distance cosine --out "$RUNS/cosine"
run --fold 1 --no-mlso --out "$RUNS/no-mlso"
run --fold 1 --attention --out "$RUNS/attention"
run --fold 1 --encoder lite0 --out "$RUNS/lite0"
B="--baseline-dir $RUNS/baselines"
python benchmarks/unseen_folds.py --summary "$RUNS/fast" $B --per-video unseen
python benchmarks/unseen_folds.py --summary "$RUNS"/{default,scene,fast,fast1k,fast2k-seed1,fast3k,fast3k-seed1,fast6k} $B
python benchmarks/unseen_folds.py --fold 1 $B --summary "$RUNS"/{default,tau0,tau0.2,tau0.4,cosine,no-mlso,attention,lite0,scene,fast}
python benchmarks/model_speed.py export/default.json export/accurate.json "$RUNS"/{no-mlso,attention,lite0}/fold1/onnx/fold.json --threads 1
