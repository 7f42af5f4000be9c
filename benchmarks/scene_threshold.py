"""Per-scene threshold rules compared on the unseen-video folds, in torch (fast, no pipeline).

For each fold run of ``benchmarks/unseen_folds.py`` the rule of ``streamcd.train.calibrate`` is
fitted on the fold's training videos' validation frames, once for the best mean over videos and once for
the best mean over categories (CDnet's overall: the 2 CDnet videos weigh as much as 14 UCSD
clips), and applied to (a) the left-out videos over their whole temporalROI and (b)
the held-out frames of the CDnet videos the fold trained on (is a quiet trained scene hurt?).
Reference: the run-time one (CDnet warm-up median, UCSD stream median); CDnet every 2nd frame.
The pipeline figures come from ``unseen_folds.py`` itself; this is for choosing the rule::

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
from streamcd.cdnet_layout import find_videos
from streamcd.train.calibrate import QUANTILES, fit_calibration, validation_scenes, video_scene
from streamcd.train.export import load_checkpoint

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folds", type=Path, nargs="+", help="fold<k>.json files of unseen_folds runs")
    p.add_argument("--data", type=Path, default=REPO.parent / "shared/data")
    args = p.parse_args()
    torch.set_num_threads(2)
    ucsd = {v.key: v for v in find_videos(ucsd_to_cdnet(args.data / "ucsd", tempfile.mkdtemp()))}
    cdnet = {v.key: v for v in find_videos(args.data / "cdnet2014")}
    rows: dict[str, list[float]] = {"card": [], "videos": [], "categories": []}
    seen_rows: dict[str, list[float]] = {"card": [], "videos": [], "categories": []}
    for path in args.folds:
        fold = json.loads(path.read_text())
        net, _ = load_checkpoint(path.parent / f"fold{fold['fold']}" / "checkpoint.pt")
        excluded = tuple(fold["excluded"])
        card = fold["threshold"]
        scenes = validation_scenes(net, args.data, excluded)
        fits = {"videos": fit_calibration(scenes, card, by_category=False),
                "categories": fit_calibration(scenes, card, by_category=True)}
        unseen = []
        for key in sorted(excluded):
            video, streamed = (ucsd[key], True) if key in ucsd else (cdnet[key], False)
            unseen.append(video_scene(net, video, streamed, video.first, video.last, 1 if streamed else 2))
        seen = [video_scene(net, v, False, *v.heldout_range(), 2) for k, v in cdnet.items() if k not in excluded]
        print(f"fold {fold['fold']}: " + "; ".join(
            f"fit on {name}: q{f.rule.quantile} x{f.rule.scale:.2f}" for name, f in fits.items()))
        for scenes, table, what in ((unseen, rows, "unseen"), (seen, seen_rows, "seen")):
            for s in scenes:
                values = {"card": s.f_at(card)}
                for name, fit in fits.items():
                    qi = QUANTILES.index(fit.rule.quantile)
                    values[name] = s.f_at(fit.rule.apply(s.statistics[qi], card))
                for name, v in values.items():
                    table[name].append(v)
                print(f"  {what:6s} {s.name:24s} " + "  ".join(f"{n} {v:.3f}" for n, v in values.items()))
    for label, table in (("left-out videos", rows), ("held-out frames of trained CDnet videos", seen_rows)):
        print(f"mean F over {len(table['card'])} {label}: " +
              ", ".join(f"{n} {np.mean(v):.4f}" for n, v in table.items()))


if __name__ == "__main__":
    main()
