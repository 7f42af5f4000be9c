"""Where a method's errors are on CDnet video: misses, and false positives split by kind.

For each video of a ``streamcd bench cdnet`` output folder, over its scored frames with the
official rules (ROI, ground truth 85 and 170 not scored), counts true positives, misses (FN),
and false positives on hard shadow (ground truth 50), within ``--near`` pixels of an object
(ground truth 255; the halo of a mask a little too large) and elsewhere (a ghost, jitter, waving
texture, an indoor shadow CDnet does not mark). TP + FN and the three FP columns add up to the
official confusion (checked per video against ``streamcd.bench.scoring.confusion_of``).

    python benchmarks/error_split.py --dataset ../shared/data/cdnet2014 --results out/long_videos/lovo-traffic

Prints a Markdown table (millions of pixels) per method found under RESULTS/results/.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from streamcd.bench.evaluate import RESULT_NAME, read_groundtruth, read_result
from streamcd.bench.scoring import confusion_of
from streamcd.cdnet_layout import CdnetVideo, find_videos

log = logging.getLogger(__name__)

#: CDnet ground truth values.
SHADOW, OBJECT, STATIC = 50, 255, 0


@dataclass
class ErrorSplit:
    """Pixel counts of one method on one video."""

    tp: int = 0
    fn: int = 0
    fp_shadow: int = 0
    fp_near: int = 0
    fp_elsewhere: int = 0

    @property
    def fp(self) -> int:
        return self.fp_shadow + self.fp_near + self.fp_elsewhere

    @property
    def f_measure(self) -> float:
        return 2 * self.tp / max(1, 2 * self.tp + self.fp + self.fn)

    def f_without_shadow_fp(self) -> float:
        """F had the shadows been background: what a perfect shadow test would be worth."""
        return 2 * self.tp / max(1, 2 * self.tp + self.fp_near + self.fp_elsewhere + self.fn)


def split_video(video: CdnetVideo, results: Path, near: int) -> ErrorSplit:
    """The error split of ``results/bin%06d.png`` over ``video``'s temporalROI."""
    split, roi = ErrorSplit(), None
    reach = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * near + 1, 2 * near + 1))
    for n in range(video.first, video.last + 1):
        gt = read_groundtruth(video.groundtruth_path(n))
        if roi is None:
            roi = video.roi_mask((gt.shape[1], gt.shape[0]))
        result = read_result(results / RESULT_NAME.format(n))
        official = confusion_of(result, gt, roi)
        predicted = (result == 255) & roi
        objects = gt == OBJECT
        false = predicted & ((gt == STATIC) | (gt == SHADOW))
        beside = cv2.dilate(objects.astype(np.uint8), reach).astype(bool)
        counts = ErrorSplit(
            tp=int((predicted & objects).sum()),
            fn=int((~predicted & objects & roi).sum()),
            fp_shadow=int((false & (gt == SHADOW)).sum()),
            fp_near=int((false & (gt == STATIC) & beside).sum()),
            fp_elsewhere=int((false & (gt == STATIC) & ~beside).sum()),
        )
        if (counts.tp, counts.fn, counts.fp) != (official.tp, official.fn, official.fp):
            raise RuntimeError(f"{video.key} frame {n}: split {counts} does not add up to {official}")
        for name in ("tp", "fn", "fp_shadow", "fp_near", "fp_elsewhere"):
            setattr(split, name, getattr(split, name) + getattr(counts, name))
    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True, help="CDnet root the results are of")
    parser.add_argument("--results", type=Path, required=True, help="a streamcd bench cdnet --out folder")
    parser.add_argument("--near", type=int, default=4, help="pixels around an object counted as its halo")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
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
