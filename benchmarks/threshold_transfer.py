"""How much of the unseen-video gap is the threshold? (analysis for the model card, issue 4)

For fold runs of ``benchmarks/unseen_folds.py`` this recomputes, with the torch checkpoint and
the run-time references, the F of the left-out videos at three thresholds chosen on validation
frames of the training videos — CDnet only (what ``streamcd train`` does), CDnet + UCSD (mean
over videos), CDnet + UCSD (mean over categories) — and at the hindsight-best threshold on the
left-out videos themselves (an upper bound no user gets). CDnet left-out videos use every 2nd
frame. Not a test: run it by hand::

    python benchmarks/threshold_transfer.py runs/folds/default/fold0.json runs/folds/default/fold1.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from streamcd.bench.ucsd import ucsd_to_cdnet
from streamcd.cdnet_layout import CdnetVideo, find_videos
from streamcd.train.data import UCSD_GAP, cdnet_train_val, load_cdnet, stream_median
from streamcd.train.export import load_checkpoint
from streamcd.train.validate import threshold_curve

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folds", type=Path, nargs="+", help="fold<k>.json files of unseen_folds runs")
    p.add_argument("--data", type=Path, default=REPO.parent / "shared/data")
    args = p.parse_args()
    torch.set_num_threads(1)
    ucsd = {v.key: v for v in find_videos(ucsd_to_cdnet(args.data / "ucsd", tempfile.mkdtemp()))}
    for path in args.folds:
        fold = json.loads(path.read_text())
        net, _ = load_checkpoint(path.parent / f"fold{fold['fold']}" / "checkpoint.pt")
        excluded = tuple(fold["excluded"])
        _, validation = cdnet_train_val(args.data / "cdnet2014", exclude=excluded)
        for key, video in ucsd.items():
            if key not in excluded:  # the last 15 % of the clip's training frames
                first, last = video.validation_range(gap=UCSD_GAP)
                validation.append(load_cdnet(video, first, last, reference=stream_median(video)))
        curve = threshold_curve(net, validation)
        f = curve.f_measure()
        is_ucsd = np.array([n.startswith("ucsd/") for n in curve.names])
        categories: dict[str, list[int]] = {}
        for i, name in enumerate(curve.names):
            categories.setdefault(name.split("/")[0], []).append(i)
        by_category = np.mean([f[idx].mean(0) for idx in categories.values()], axis=0)
        choices = {"cdnet validation": f[~is_ucsd].mean(0), "cdnet+ucsd, videos": f.mean(0),
                   "cdnet+ucsd, categories": by_category}
        left_out = []
        for key in excluded:
            if key in ucsd:
                left_out.append(load_cdnet(ucsd[key], ucsd[key].first, ucsd[key].last,
                                           reference=stream_median(ucsd[key])))
            else:
                video = CdnetVideo.open(args.data / "cdnet2014" / key)
                left_out.append(load_cdnet(video, video.first, video.last, step=2))
        unseen = threshold_curve(net, left_out).f_measure()
        print(f"{path} (left out: {', '.join(excluded)})")
        for name, mean_f in choices.items():
            i = int(np.argmax(mean_f))
            print(f"  {name:24s} threshold {curve.thresholds[i]:.3f}: unseen mean F {unseen[:, i].mean():.4f} "
                  f"{np.round(unseen[:, i], 3).tolist()}")
        best = int(np.argmax(unseen.mean(0)))
        print(f"  {'hindsight (upper bound)':24s} threshold {curve.thresholds[best]:.3f}: "
              f"unseen mean F {unseen[:, best].mean():.4f}")


if __name__ == "__main__":
    main()
