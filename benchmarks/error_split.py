"""Where a method's errors are on CDnet video: misses, and false positives split by kind.

For each video of a ``streamcd bench cdnet`` output folder, over its scored frames with the
official rules (ROI, ground truth 85 and 170 not scored), counts true positives, misses (FN),
and false positives on hard shadow (ground truth 50), within ``--near`` pixels of an object
(ground truth 255; the halo of a mask a little too large) and elsewhere (a ghost, jitter, waving
texture, an indoor shadow CDnet does not mark). The counts are the official confusion
(``streamcd.bench.scoring.confusion_of``, which also counts the shadow errors) with its other
false positives split by distance to an object.

    python benchmarks/error_split.py --dataset ../shared/data/cdnet2014 --results out/long_videos/lovo-traffic

Prints a Markdown table (millions of pixels) per method found under RESULTS/results/.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from streamcd.bench.evaluate import frame_range, scored_frames
from streamcd.bench.scoring import FOREGROUND, GT_MOTION, GT_STATIC, Confusion, confusion_of
from streamcd.cdnet_layout import CdnetVideo, find_videos


@dataclass(frozen=True)
class ErrorSplit:
    """One method on one video: the official confusion (its ``shadow_errors`` are the false
    positives on hard shadow) and how many of its other false positives lie beside an object."""

    confusion: Confusion
    fp_near: int

    @property
    def tp(self) -> int:
        return self.confusion.tp

    @property
    def fn(self) -> int:
        return self.confusion.fn

    @property
    def fp_shadow(self) -> int:
        return self.confusion.shadow_errors

    @property
    def fp_elsewhere(self) -> int:
        return self.confusion.fp - self.fp_shadow - self.fp_near

    @property
    def f_measure(self) -> float:
        return self.confusion.metrics().f_measure

    def f_without_shadow_fp(self) -> float:
        """F had the shadows been background: what a perfect shadow test would be worth."""
        c = self.confusion
        return 2 * c.tp / max(1, 2 * c.tp + c.fp - c.shadow_errors + c.fn)


def split_video(video: CdnetVideo, results: Path, near: int) -> ErrorSplit:
    """The error split of ``results/bin%06d.png`` over ``video``'s temporalROI."""
    total, fp_near = Confusion(0, 0, 0, 0), 0
    reach = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * near + 1, 2 * near + 1))
    for _, result, gt, roi in scored_frames(video, results, *frame_range(video)):
        total = total + confusion_of(result, gt, roi)
        beside = cv2.dilate((gt == GT_MOTION).astype(np.uint8), reach).astype(bool)
        fp_near += int(np.count_nonzero((result == FOREGROUND) & roi & (gt == GT_STATIC) & beside))
    return ErrorSplit(total, fp_near)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True, help="CDnet root the results are of")
    parser.add_argument("--results", type=Path, required=True, help="a streamcd bench cdnet --out folder")
    parser.add_argument("--near", type=int, default=4, help="pixels around an object counted as its halo")
    args = parser.parse_args()
    videos = {v.key: v for v in find_videos(args.dataset)}
    methods = sorted(p for p in (args.results / "results").iterdir() if p.is_dir())
    if not methods:
        raise SystemExit(f"no results/<method>/ folders under {args.results}")
    print("| method | video | TP | FN | FP shadow | FP near | FP elsewhere | F | F, shadows as background |")
    print("| --- | --- |" + " ---: |" * 7)
    for method in methods:
        for key, video in sorted(videos.items()):
            folder = method / key
            if not folder.is_dir():
                continue
            s = split_video(video, folder, args.near)
            print(f"| {method.name} | {key} | {s.tp / 1e6:.3f} | {s.fn / 1e6:.3f} | {s.fp_shadow / 1e6:.3f} | "
                  f"{s.fp_near / 1e6:.3f} | {s.fp_elsewhere / 1e6:.3f} | {s.f_measure:.4f} | "
                  f"{s.f_without_shadow_fp():.4f} |")


if __name__ == "__main__":
    main()
