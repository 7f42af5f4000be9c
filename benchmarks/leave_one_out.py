"""Unseen-video protocol: train without one CDnet video, then score the model on that video.

The left-out video contributes no training or validation frame, so its whole temporalROI is
scored (official CDnet rules) with the threshold picked on the other videos' validation frames.
MOG2, KNN and GSOC run on the same frames in the same run for reference.

    python benchmarks/leave_one_out.py --exclude baseline/highway --encoder lite0 --minutes 10
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from streamcd.bench.baselines import run_baseline
from streamcd.bench.evaluate import score_video
from streamcd.bench.heldout import run_model
from streamcd.cdnet_layout import CdnetVideo
from streamcd.runtime.onnx_model import OnnxChangeModel
from streamcd.train.cli import add_recipe_arguments, recipe_from_args
from streamcd.train.export import export_onnx
from streamcd.train.loop import train

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared/data")
    p.add_argument("--exclude", required=True, help="CDnet key left out, e.g. baseline/highway")
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--max-steps", type=int, default=100000)
    p.add_argument("--threads", type=int, default=None)
    add_recipe_arguments(p)  # --encoder, --tau, --paste, ... as in `streamcd train`
    p.set_defaults(paste=0.0)  # this script's default since it was written
    p.add_argument("--baselines", default="mog2,knn,gsoc")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    tag = f"{args.exclude.replace('/', '_')}-{args.encoder}-paste{args.paste}-tau{args.tau}"
    out = args.out or REPO / "runs" / "loo" / tag
    cfg = recipe_from_args(args, data=args.data, out=out, minutes=args.minutes, max_steps=args.max_steps,
                           exclude=(args.exclude,), threads=args.threads)
    card = export_onnx(train(cfg), out / "onnx", "loo")
    video = CdnetVideo.open(args.data / "cdnet2014" / args.exclude)
    frames = (video.first, video.last)
    model = OnnxChangeModel.load(card, provider="cpu", threads=args.threads)
    rows = {"streamcd": score_video(video, _run(out / "results", video, model), frames).metrics}
    for name in filter(None, args.baselines.split(",")):
        run_baseline(name, video, out / "baselines" / name)
        rows[name] = score_video(video, out / "baselines" / name, frames).metrics
    summary = {"exclude": args.exclude, "encoder": args.encoder, "paste": args.paste, "tau": args.tau,
               "threshold": model.threshold, "frames": frames,
               "f": {k: round(m.f_measure, 4) for k, m in rows.items()},
               "precision": {k: round(m.precision, 4) for k, m in rows.items()},
               "recall": {k: round(m.recall, 4) for k, m in rows.items()}}
    (out / "loo.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


def _run(results: Path, video: CdnetVideo, model) -> Path:
    run_model(video, results, model)
    return results


if __name__ == "__main__":
    main()
