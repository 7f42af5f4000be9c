"""Scene adaptation gain: held-out F of a base model and of the same model after ``streamcd adapt``.

Each run fine-tunes the base on labelled frames of the video's training range only and scores
both models on the held-out frames (``CdnetVideo.heldout_range()``, official CDnet rules, the
pipeline with background init "cdnet", each model at its own card's threshold). Rows are
appended to ``--rows`` (JSON lines) and the whole table is printed as markdown.

    python benchmarks/adapt_gain.py --video baseline/highway --tag loo-scratch \\
        --base runs/loo/baseline_highway-scratch-paste0.3-tau0.1/checkpoint.pt --batchnorm frozen train
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from streamcd.train.adapt import AdaptConfig, adapt

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared/data/cdnet2014")
    p.add_argument("--video", required=True, help="CDnet key, e.g. baseline/highway")
    p.add_argument("--base", type=Path, required=True, help="base checkpoint")
    p.add_argument("--tag", required=True, help="name of the base in the table, e.g. shipped, loo-scratch")
    p.add_argument("--batchnorm", nargs="+", default=["frozen"], choices=["frozen", "train"])
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--max-steps", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (1 holds up better on a busy machine)")
    p.add_argument("--rows", type=Path, default=REPO / "runs/adapt-eval/rows.jsonl")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for name in ("onnx_ir", "onnxscript"):  # export chatter
        logging.getLogger(name).setLevel(logging.WARNING)

    args.rows.parent.mkdir(parents=True, exist_ok=True)
    for bn in args.batchnorm:
        out = args.rows.parent / f"{args.video.replace('/', '_')}-{args.tag}-{bn}-s{args.seed}"
        started = time.monotonic()
        r = adapt(AdaptConfig(video=args.data / args.video, base=args.base, out=out, frames=args.frames,
                              minutes=args.minutes, max_steps=args.max_steps, batchnorm=bn,
                              measure=True, seed=args.seed, threads=args.threads))
        info = r.extra
        row = {"video": args.video, "base": args.tag, "batchnorm": bn, "seed": args.seed,
               "frames": len(r.train_frames), "val_frames": len(r.val_frames), "steps": r.steps,
               "best_step": r.best_step, "tune_s": info["seconds"], "total_s": round(time.monotonic() - started),
               "threshold": [info["base_threshold"], info["threshold"]],
               "val_f": [info["val_f_before"], info["val_f_after"]],
               "heldout": [info["heldout_before"], info["heldout_after"]], "card": str(r.card)}
        with args.rows.open("a") as f:
            f.write(json.dumps(row) + "\n")
    print(markdown([json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]))


def markdown(rows: list[dict]) -> str:
    lines = ["| video | base | BN | frames | steps (best) | tune s | threshold | val F | held-out F | held-out Pr / Re after |",
             "| --- | --- | --- | ---: | ---: | ---: | --- | --- | --- | --- |"]
    for r in rows:
        b, a = r["heldout"]
        lines.append(
            f"| {r['video']} | {r['base']} | {r['batchnorm']} | {r['frames']}+{r['val_frames']} | "
            f"{r['steps']} ({r['best_step']}) | {r['tune_s']:.0f} | {r['threshold'][0]:.3f} → {r['threshold'][1]:.3f} | "
            f"{r['val_f'][0]:.4f} → {r['val_f'][1]:.4f} | **{b['f']:.4f} → {a['f']:.4f}** | "
            f"{a['precision']:.3f} / {a['recall']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
