"""Model-only CPU cost per frame (encoder on the query + head against a cached reference).

Every round times each model card and OpenCV MOG2 once on the same frames (order rotated), so
load on a shared machine hits all alike; the table gives the median ms/frame and the median
per-round ratio to MOG2. Not a test: run it by hand::

    .venv/bin/python benchmarks/model_speed.py export/default.json runs/folds/*/fold1/onnx/fold.json \\
        --size 320x240 --threads 1 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from streamcd.runtime.onnx_model import OnnxChangeModel


def frames(size: tuple[int, int], count: int, seed: int = 0) -> list[np.ndarray]:
    """Textured frames with a moving square: the cost does not depend on content, but be fair."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (7, 7), 0)
    out = []
    for i in range(count):
        f = base.copy()
        x = (7 * i) % max(w - 40, 1)
        f[h // 3 : h // 3 + 40, x : x + 40] = (40, 200, 90)
        out.append(f)
    return out


def time_model(model: OnnxChangeModel, images: list[np.ndarray]) -> float:
    reference = model.encode(images[0][None])
    model.compare(reference, model.encode(images[1][None]))  # warm-up
    start = time.perf_counter()
    for image in images:
        model.compare(reference, model.encode(image[None]))
    return 1000 * (time.perf_counter() - start) / len(images)


def time_mog2(images: list[np.ndarray]) -> float:
    mog2 = cv2.createBackgroundSubtractorMOG2()
    mog2.apply(images[0])
    start = time.perf_counter()
    for image in images:
        mog2.apply(image)
    return 1000 * (time.perf_counter() - start) / len(images)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cards", type=Path, nargs="+", help="model card JSON files")
    p.add_argument("--size", default="320x240")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    images = frames(size, args.frames)
    models = {str(c): OnnxChangeModel.load(c, provider="cpu", threads=args.threads) for c in args.cards}
    ms: dict[str, list[float]] = {name: [] for name in [*models, "mog2"]}
    for r in range(args.rounds):
        names = list(ms)
        for name in names[r % len(names):] + names[: r % len(names)]:
            ms[name].append(time_mog2(images) if name == "mog2" else time_model(models[name], images))
    print(f"| model | ms/frame at {args.size}, {args.threads} thread(s) | x MOG2 |")
    print("|---|---:|---:|")
    for name, values in ms.items():
        ratio = statistics.median(v / m for v, m in zip(values, ms["mog2"]))
        print(f"| {name} | {statistics.median(values):.2f} | {ratio:.1f} |")


if __name__ == "__main__":
    main()
