"""Choose the feature bank's base threshold and dynamic factor leave-one-video-out.

Runs the pipeline's own background manager and frame processor on whole CDnet videos from
frame 1 (the bank built from the first frames, as a camera stream would), scores every frame
of the temporalROI with the official rules, for each (base, factor) of a grid; then, per video,
picks the setting that is best on the *other* videos and reports that setting's F on this one.
Nothing is chosen on the frames it is reported on.

    python benchmarks/bank_settings.py --videos ../shared/data/cdnet2014/baseline/{office,pedestrians} \
        --base 0.4 0.5 0.6 --factor 2 3 --out runs/bank_settings.jsonl
    python benchmarks/bank_settings.py --summary runs/bank_settings.jsonl

``--model VIDEO=CARD`` scores a video with another model (a network trained without it).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from streamcd.background import BackgroundManager
from streamcd.bench.scoring import Confusion, confusion_of
from streamcd.config import BackgroundConfig, BankConfig, PostprocessConfig
from streamcd.frames import Frame
from streamcd.postprocess import MaskPostprocessor
from streamcd.processor import FrameProcessor
from streamcd.runtime.onnx_model import OnnxChangeModel

log = logging.getLogger("bank_settings")


def score_video(video: Path, model, base: float, factor: float) -> dict:
    """F, precision, recall over the temporalROI of ``video``, run from frame 1."""
    first, last = map(int, (video / "temporalROI.txt").read_text().split()[:2])
    count = len(list((video / "input").glob("in*.jpg")))
    roi = cv2.imread(str(video / "ROI.bmp"), cv2.IMREAD_GRAYSCALE)
    background = BackgroundManager(BackgroundConfig(bank=BankConfig(dynamic_factor=factor)), "bench")
    post = MaskPostprocessor(PostprocessConfig(threshold=base), base)
    processor = FrameProcessor(model, background, post, "bench")
    total, t0 = Confusion(0, 0, 0, 0), time.perf_counter()

    def process(frame: Frame) -> None:
        nonlocal total
        result, _ = processor.process(frame)
        if first <= frame.number <= last:
            truth = cv2.imread(str(video / f"groundtruth/gt{frame.number:06d}.png"), cv2.IMREAD_GRAYSCALE)
            inside = roi if roi is not None and roi.shape == truth.shape else np.full(truth.shape, 255, np.uint8)
            total = total + confusion_of(result.mask, truth, inside)

    for number in range(1, count + 1):
        image = cv2.imread(str(video / f"input/in{number:06d}.jpg"), cv2.IMREAD_COLOR)
        for ready in background.feed(Frame(number - 1, number, 0.0, image, 0.0), image):
            process(ready)
    for ready in background.drain():
        process(ready)
    m = total.metrics()
    return {"video": "/".join(video.parts[-2:]), "base": base, "factor": factor, "f": m.f_measure,
            "precision": m.precision, "recall": m.recall,
            "ms_per_frame": 1000 * (time.perf_counter() - t0) / count}


def summary(paths: list[Path]) -> None:
    rows = [json.loads(line) for p in paths for line in p.read_text().splitlines() if line.strip()]
    table: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in rows:
        table[(r["base"], r["factor"])][r["video"]] = r["f"]
    videos = sorted({r["video"] for r in rows})
    full = {k: v for k, v in table.items() if all(x in v for x in videos)}
    print("base factor " + " ".join(videos) + " mean")
    for key, f in sorted(full.items()):
        print(*key, *(f"{f[x]:.3f}" for x in videos), f"{np.mean(list(f.values())):.3f}")
    picked = []
    for video in videos:
        best = max(full, key=lambda k: sum(full[k][x] for x in videos if x != video))
        picked.append(full[best][video])
        print(f"{video}: chosen on the others {best} -> F {full[best][video]:.3f}")
    print(f"leave-one-video-out mean F {np.mean(picked):.3f}; all videos' best "
          f"{max(full, key=lambda k: sum(full[k].values()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", nargs="+", type=Path, default=[])
    parser.add_argument("--base", nargs="+", type=float, default=[0.5])
    parser.add_argument("--factor", nargs="+", type=float, default=[2.0])
    parser.add_argument("--model", nargs="*", default=[], metavar="VIDEO=CARD",
                        help="score VIDEO (its folder name) with model card CARD (default: shipped)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--summary", nargs="+", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.summary:
        summary(args.summary)
        return
    cards = dict(item.split("=", 1) for item in args.model)
    for video in args.videos:
        model = OnnxChangeModel.load(cards.get(video.name), threads=args.threads)
        for base in args.base:
            for factor in args.factor:
                row = score_video(video, model, base, factor)
                print(json.dumps(row), flush=True)
                if args.out:
                    with args.out.open("a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
