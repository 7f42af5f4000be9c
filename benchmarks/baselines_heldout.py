"""Classic OpenCV baselines on the held-out test frames of the shared CDnet videos.

Each method runs over the whole video from frame 1 (CDnet protocol: the model sees every
frame in order), then only ``video.heldout_range()`` is scored. ms/frame is the time inside
``apply`` averaged over every frame run (decoding and PNG writing excluded).

    nice python benchmarks/baselines_heldout.py [--data ../shared/data/cdnet2014] [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from streamcd.bench.baselines import baseline_names, run_baseline
from streamcd.bench.evaluate import score_video
from streamcd.cdnet_layout import CdnetVideo

REPO = Path(__file__).resolve().parents[1]
VIDEOS = ("baseline/highway", "cameraJitter/traffic")
METHODS = ("mog2", "knn", "gsoc", "cnt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/cdnet2014")
    parser.add_argument("--out", type=Path, help="keep the result PNGs here (default: temp dir)")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=baseline_names())
    parser.add_argument("--videos", nargs="+", default=VIDEOS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        rows = []
        for key in args.videos:
            video = CdnetVideo.open(args.data / key)
            frames = video.heldout_range()
            for method in args.methods:
                results = out / method / key
                seconds = run_baseline(method, video, results)
                m = score_video(video, results, frames).metrics
                ms = 1000 * seconds / video.count
                rows.append((key, f"{frames[0]}..{frames[1]}", method, m, ms))
                print(f"  done {key} {method}: F={m.f_measure:.4f}", flush=True)

    print()
    print("| video | scored frames | method | F | Pr | Re | PWC | ms/frame |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for key, span, method, m, ms in rows:
        print(
            f"| {key} | {span} | {method} | {m.f_measure:.4f} | {m.precision:.4f} "
            f"| {m.recall:.4f} | {m.pwc:.3f} | {ms:.2f} |"
        )


if __name__ == "__main__":
    main()
