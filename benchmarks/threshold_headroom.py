"""How much of the unseen-video gap is the threshold? (issue 4, model card "Where the rest of the gap is")

For every left-out video of an ``unseen_folds.py`` run, the fold's model is run through the real
pipeline (run-time reference, per-scene rule) and its distance maps are kept; then, with the
official CDnet counting over the whole temporalROI, mean F over the videos:

* ``rule``: the threshold the pipeline used (the run's own number, recomputed);
* ``rule, q x scale with hindsight``: the one (quantile, scale) of the per-scene rule that is best
  for all left-out videos together, chosen on their labels (an upper bound for the rule's form);
* ``rule, fitted on the other folds' left-out videos``: per fold, the (quantile, scale) best on
  the left-out videos of the 4 other folds (labels of the scored fold never used), quantile
  among all of QUANTILES, or among CROSS_FIT_QUANTILES (what ``streamcd train --rule-folds``
  offers; this row estimates what that nested fit gives without its K extra trainings per fold);
* ``best threshold per video, with hindsight``: each video at its own best threshold (an upper
  bound for any per-video threshold, not a method).

    python benchmarks/threshold_headroom.py runs/folds/fast2k-seed1 [--median all]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from unseen_folds import all_videos

from streamcd.bench.evaluate import read_groundtruth
from streamcd.bench.heldout import run_model
from streamcd.config import PostprocessConfig
from streamcd.postprocess.calibration import MIN_FRACTION, MIN_FRAMES, scene_statistic, spread
from streamcd.processor import FrameProcessor
from streamcd.runtime.onnx_model import OnnxChangeModel
from streamcd.train.calibrate import QUANTILES, SCALES
from streamcd.train.crossfit import CROSS_FIT_QUANTILES

THRESHOLDS = np.exp(np.linspace(np.log(0.03), np.log(2.0), 80))


@dataclass
class VideoCurve:
    """F of one left-out video at every value of THRESHOLDS, and what the rule needs."""

    fold: int
    card: float
    used: float
    init_statistics: np.ndarray | None  # per QUANTILES; None when the median had < MIN_FRAMES
    f: np.ndarray

    def f_at(self, threshold: float) -> float:
        return float(np.interp(np.log(threshold), np.log(THRESHOLDS), self.f))

    def rule(self, qi: int, scale: float) -> float:
        if self.init_statistics is None:
            return self.card
        return min(self.card, max(MIN_FRACTION * self.card, scale * self.init_statistics[qi]))


def capture(video, model, median: str, temporal_mean: int = 1
            ) -> tuple[dict[int, np.ndarray], list[np.ndarray], float]:
    """Distance maps per frame number, init-frame distance maps, threshold used (last frame)."""
    maps, init, used = {}, [], [0.0]
    process, calibrate = FrameProcessor.process, FrameProcessor._calibrate

    def keep_process(self, frame):
        self.keep_distance = True
        result, events = process(self, frame)
        maps[frame.number] = result.distance
        used[0] = self.postprocess.threshold
        return result, events

    def keep_calibrate(self):
        frames = self.background._init_frames  # what take_init_frames() is about to hand out
        if frames is not None and not init:
            reference, version = self.background.reference, self.background.version
            init.extend(self.distance(f, reference, version) for f in frames)
        calibrate(self)

    FrameProcessor.process, FrameProcessor._calibrate = keep_process, keep_calibrate
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run_model(video, Path(tmp), model, PostprocessConfig(temporal_mean=temporal_mean), median)
    finally:
        FrameProcessor.process, FrameProcessor._calibrate = process, calibrate
    return maps, init, used[0]


def above(values: np.ndarray) -> np.ndarray:
    """How many of ``values`` exceed each of THRESHOLDS."""
    below = np.cumsum(np.bincount(np.searchsorted(THRESHOLDS, values), minlength=len(THRESHOLDS) + 1))
    return values.size - below[: len(THRESHOLDS)]


def curve_of(video, maps: dict[int, np.ndarray]) -> np.ndarray:
    """F at every threshold, counted like the official comparator over the temporalROI."""
    tp = fp = fn = 0
    roi = None
    for n in range(video.first, video.last + 1):
        gt = read_groundtruth(video.groundtruth_path(n))
        if roi is None:
            roi = video.roi_mask((gt.shape[1], gt.shape[0])).astype(bool)
        positive, negative = maps[n][(gt == 255) & roi], maps[n][((gt == 0) | (gt == 50)) & roi]
        hits = above(positive)
        tp, fn, fp = tp + hits, fn + positive.size - hits, fp + above(negative)
    return np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="an unseen_folds.py output folder (fold<k>.json + fold<k>/onnx)")
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--median", choices=["still", "all"], default="still")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--temporal-mean", type=int, default=1, metavar="N",
                   help="postprocess.temporal_mean of the captured maps (1: each frame's own)")
    args = p.parse_args()
    curves: dict[str, VideoCurve] = {}
    with tempfile.TemporaryDirectory() as work:
        videos = {v.key: v for v in all_videos(args.data, Path(work))}
        for fold_file in sorted(args.run.glob("fold*.json")):
            info = json.loads(fold_file.read_text())
            card = args.run / f"fold{info['fold']}" / "onnx" / "fold.json"
            model = OnnxChangeModel.load(card, provider="cpu", threads=args.threads)
            for key in info["excluded"]:
                maps, init, used = capture(videos[key], model, args.median, args.temporal_mean)
                stats = None
                if len(init) >= MIN_FRAMES:
                    picked = [init[i] for i in spread(len(init), 15)]
                    stats = np.asarray(scene_statistic(picked, QUANTILES))
                curves[key] = VideoCurve(info["fold"], model.threshold, used, stats,
                                         curve_of(videos[key], maps))
    mean = lambda values: float(np.mean(list(values)))
    rows = [("rule (as run)", mean(c.f_at(c.used) for c in curves.values()))]
    grid = [(qi, s) for qi in range(len(QUANTILES)) for s in SCALES]
    best = max(grid, key=lambda g: mean(c.f_at(c.rule(*g)) for c in curves.values()))
    rows.append((f"rule, q{QUANTILES[best[0]]} x {best[1]:.1f} with hindsight",
                 mean(c.f_at(c.rule(*best)) for c in curves.values())))
    for label, quantiles in (("", QUANTILES), (", q in " + "/".join(map(str, CROSS_FIT_QUANTILES)),
                                               CROSS_FIT_QUANTILES)):
        offered = [(QUANTILES.index(q), s) for q in quantiles for s in SCALES]
        crossed = []
        for fold in sorted({c.fold for c in curves.values()}):
            others = [c for c in curves.values() if c.fold != fold]
            g = max(offered, key=lambda g: mean(c.f_at(c.rule(*g)) for c in others))
            crossed += [c.f_at(c.rule(*g)) for c in curves.values() if c.fold == fold]
        rows.append((f"rule, fitted on the other folds' left-out videos{label}", mean(crossed)))
    rows.append(("best threshold per video, with hindsight", mean(c.f.max() for c in curves.values())))
    print(f"| {args.run.name} ({len(curves)} left-out videos, median {args.median}, temporal mean "
          f"{args.temporal_mean}) | mean F |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value:.4f} |")


if __name__ == "__main__":
    main()
