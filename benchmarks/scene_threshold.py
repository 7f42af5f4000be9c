"""Label-free per-scene threshold: does calibrating on the background-init frames close the
unseen-video gap? (analysis for issue 4, not yet a runtime feature)

For each fold run of ``benchmarks/unseen_folds.py``: the distance maps of the frames the
background manager builds its reference from (CDnet: 30 frames before temporalROI; UCSD: the
first 30 frames, every 2nd) give a per-scene statistic s = quantile_q(D) with no label. The rule
``threshold = min(card threshold, a * s)`` is fitted (a, and q among QUANTILES) on validation
frames of the fold's training videos (CDnet validation split + the last 15 % of each UCSD clip's
training frames), then applied to the left-out videos, whose F is compared with the card's fixed
threshold. Torch, fixed run-time reference, CDnet left-out videos every 2nd frame. By hand::

    python benchmarks/scene_threshold.py runs/folds/default/fold{0,1,2,3,4}.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from streamcd.bench.ucsd import ucsd_to_cdnet
from streamcd.cdnet_layout import HELDOUT_GAP, CdnetVideo, find_videos
from streamcd.train.data import (
    UCSD_GAP,
    _read,
    cdnet_reference,
    cdnet_reference_numbers,
    load_cdnet,
    stream_median,
    stream_median_numbers,
)
from streamcd.train.export import load_checkpoint
from streamcd.train.validate import ThresholdCurve, full_res_distance, threshold_curve

REPO = Path(__file__).resolve().parents[1]
QUANTILES = (0.9, 0.95, 0.99, 0.999)
SCALES = np.linspace(0.5, 4.0, 36)


def scene(net, video: CdnetVideo, is_ucsd: bool, part: str) -> tuple[np.ndarray, ThresholdCurve]:
    """(quantiles of D on the init frames, threshold curve of the validation or test frames)."""
    reference = stream_median(video) if is_ucsd else cdnet_reference(video)
    if part == "validation":
        first, last = video.validation_range(gap=UCSD_GAP if is_ucsd else HELDOUT_GAP)
        frames = load_cdnet(video, first, last, reference=reference)
    else:
        frames = load_cdnet(video, video.first, video.last, step=1 if is_ucsd else 2, reference=reference)
    init = np.stack([_read(video.input_path(n)) for n in (stream_median_numbers(video) if is_ucsd else cdnet_reference_numbers(video))])
    stats = np.quantile(full_res_distance(net, reference, init), QUANTILES)
    return stats, threshold_curve(net, [frames])


def f_at(curve: ThresholdCurve, threshold: float) -> float:
    i = min(int(np.searchsorted(curve.thresholds, threshold)), len(curve.thresholds) - 1)
    return float(curve.f_measure()[0, i])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folds", type=Path, nargs="+", help="fold<k>.json files of unseen_folds runs")
    p.add_argument("--data", type=Path, default=REPO.parent / "shared/data")
    args = p.parse_args()
    torch.set_num_threads(2)
    ucsd = {v.key: v for v in find_videos(ucsd_to_cdnet(args.data / "ucsd", tempfile.mkdtemp()))}
    cdnet = {v.key: v for v in find_videos(args.data / "cdnet2014")}
    fixed_all, calibrated_all = [], []
    for path in args.folds:
        fold = json.loads(path.read_text())
        net, _ = load_checkpoint(path.parent / f"fold{fold['fold']}" / "checkpoint.pt")
        excluded = set(fold["excluded"])
        videos = {**cdnet, **ucsd}
        validation = {k: scene(net, v, k in ucsd, "validation") for k, v in videos.items() if k not in excluded}
        test = {k: scene(net, videos[k], k in ucsd, "test") for k in sorted(excluded)}
        card = fold["threshold"]
        best = None
        for qi, q in enumerate(QUANTILES):
            for a in SCALES:
                mean_f = np.mean([f_at(c, min(card, a * s[qi])) for s, c in validation.values()])
                if best is None or mean_f > best[0]:
                    best = (mean_f, q, qi, a)
        _, q, qi, a = best
        fixed = {k: f_at(c, card) for k, (s, c) in test.items()}
        calibrated = {k: f_at(c, min(card, a * s[qi])) for k, (s, c) in test.items()}
        fixed_all += fixed.values()
        calibrated_all += calibrated.values()
        print(f"fold {fold['fold']}: rule min({card:.3f}, {a:.2f} x q{q}) fitted on validation; "
              f"unseen mean F fixed {np.mean(list(fixed.values())):.4f} -> "
              f"calibrated {np.mean(list(calibrated.values())):.4f}")
        for k in test:
            print(f"  {k:24s} {fixed[k]:.3f} -> {calibrated[k]:.3f}")
    print(f"all {len(fixed_all)} left-out videos: fixed {np.mean(fixed_all):.4f} -> "
          f"calibrated {np.mean(calibrated_all):.4f}")


if __name__ == "__main__":
    main()
