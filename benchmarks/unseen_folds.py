"""Both model-quality protocols from one training run per fold (issue 4).

The labelled videos (CDnet + UCSD) are dealt into ``--folds`` folds by sorted key (video i goes
to fold i mod k, so the two CDnet videos land in different folds). One run trains the recipe
without the videos of fold ``--fold`` and then scores, with the official CDnet rules:

* unseen: every video of the fold over its whole temporalROI (it gave no training frame);
* scene-specific: every other video over its held-out frames (``heldout_range()``: the end of
  the temporalROI, 50 frames after the last training frame for CDnet, 3 for the short UCSD clips).

The threshold is the card's, picked on the validation frames of the training videos (runs made
before the per-scene threshold rule was removed scored with that rule unless ``--card-threshold``
was given). Classic
subtractors are run once per video (``--baselines``), from frame 1, into a shared folder and
scored on the same frames. Results go to ``<out>/fold<k>.json``; ``--summary`` prints the tables.

    python benchmarks/unseen_folds.py --fold 1 --max-steps 2000 --threads 1 --out runs/folds/default
    python benchmarks/unseen_folds.py --baselines mog2,knn,subsense --out runs/folds/baselines
    python benchmarks/unseen_folds.py --summary runs/folds/default --baseline-dir runs/folds/baselines
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

from streamcd.bench.baselines import run_baseline
from streamcd.bench.evaluate import score_video
from streamcd.bench.heldout import run_model
from streamcd.bench.ucsd import ucsd_to_cdnet
from streamcd.cdnet_layout import CdnetVideo, find_videos
from streamcd.config import PostprocessConfig

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("unseen_folds")


def all_videos(data: Path, work: Path) -> list[CdnetVideo]:
    """CDnet videos plus the UCSD clips converted to the CDnet layout, sorted by key."""
    videos = find_videos(data / "cdnet2014")
    if (data / "ucsd").is_dir():
        videos += find_videos(ucsd_to_cdnet(data / "ucsd", work / "ucsd-cdnet"))
    return sorted(videos, key=lambda v: v.key)


def fold_of(videos: list[CdnetVideo], folds: int) -> dict[str, int]:
    return {v.key: i % folds for i, v in enumerate(videos)}


def protocol_frames(video: CdnetVideo, unseen: bool) -> tuple[int, int]:
    return (video.first, video.last) if unseen else video.heldout_range()


def _scores(video: CdnetVideo, results: Path) -> dict:
    out = {}
    for protocol, unseen in (("unseen", True), ("seen", False)):
        m = score_video(video, results, protocol_frames(video, unseen)).metrics
        out[protocol] = {"f": m.f_measure, "precision": m.precision, "recall": m.recall}
    return out


def run_fold(args, videos: list[CdnetVideo]) -> dict:
    from streamcd.runtime.onnx_model import OnnxChangeModel
    from streamcd.train.cli import recipe_from_args
    from streamcd.train.export import export_onnx
    from streamcd.train.loop import train

    folds = fold_of(videos, args.folds)
    excluded = tuple(k for k, f in folds.items() if f == args.fold)
    log.info("fold %d leaves out %s", args.fold, ", ".join(excluded))
    out = args.out / f"fold{args.fold}"
    cfg = recipe_from_args(args, data=args.data, out=out, minutes=args.minutes, max_steps=args.max_steps,
                           exclude=excluded, threads=args.threads, seed=args.seed)
    checkpoint = out / "checkpoint.pt"
    if not checkpoint.is_file() and args.checkpoints is not None:
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.checkpoints / f"fold{args.fold}" / "checkpoint.pt", checkpoint)
    if not checkpoint.is_file():
        train(cfg)
    import torch

    saved = torch.load(checkpoint, weights_only=False)
    # --checkpoints from another recipe's --temporal-mean (the card's value): this run's copy
    if saved["train"].get("temporal_mean", 1) != args.temporal_mean:
        saved["train"]["temporal_mean"] = args.temporal_mean
        torch.save(saved, checkpoint)
    card = export_onnx(checkpoint, out / "onnx", "fold")
    model = OnnxChangeModel.load(card, provider="cpu", threads=args.threads)
    rows = {}
    postprocess = PostprocessConfig()  # temporal mean: the card's
    for key in ("close_px", "min_area_fraction"):
        if getattr(args, key) is not None:
            postprocess = postprocess.model_copy(update={key: getattr(args, key)})
    for video in videos:
        results = out / "results" / video.key
        started = time.perf_counter()
        seconds = run_model(video, results, model, postprocess, args.median)
        rows[video.key] = {"left_out": video.key in excluded, **_scores(video, results),
                           "ms_per_frame": 1000 * seconds / video.count}
        log.info("%s: %s (%.0f s)", video.key, rows[video.key], time.perf_counter() - started)
    train_info = saved["train"]  # as exported (temporal_mean updated in place)
    return {"fold": args.fold, "folds": args.folds, "excluded": excluded, "threshold": model.threshold,
            "median": args.median, "temporal_mean": model.temporal_mean,
            "close_px": postprocess.close_px, "min_area_fraction": postprocess.min_area_fraction,
            "train_seconds": train_info["seconds"], "steps": train_info["steps"],
            "recipe": {k: train_info[k] for k in ("loss", "tau", "margin", "beta", "net", "augment")},
            "videos": rows}


def run_baselines(args, videos: list[CdnetVideo]) -> None:
    for name in args.baselines.split(","):
        target = args.out / f"{name}.json"
        rows = json.loads(target.read_text()) if target.is_file() else {}
        for video in videos:
            if video.key in rows:
                continue
            results = args.out / name / video.key
            seconds = run_baseline(name, video, results)
            rows[video.key] = {**_scores(video, results), "ms_per_frame": 1000 * seconds / video.count}
            log.info("%s %s: %s", name, video.key, rows[video.key])
            target.write_text(json.dumps(rows, indent=1))


def summarize(run_dirs: list[Path], baseline_dir: Path | None, fold: int | None = None) -> str:
    """Markdown: per run, mean F over unseen videos and over scene-specific videos, vs baselines
    (only fold ``fold`` of each run when given: the ablation compares runs on one fold)."""
    baselines = {}
    if baseline_dir:
        baselines = {p.stem: json.loads(p.read_text()) for p in sorted(baseline_dir.glob("*.json"))}
    header = ("| run | folds | unseen videos | unseen F | best classic (same videos) | margin | "
              "seen F (held-out) | seen F, CDnet | steps | train min |")
    lines = [header, "|---|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for run in run_dirs:
        pattern = "fold*.json" if fold is None else f"fold{fold}.json"
        folds = [json.loads(p.read_text()) for p in sorted(run.glob(pattern))]
        if not folds:
            continue
        unseen = {k: r["unseen"]["f"] for f in folds for k, r in f["videos"].items() if k in f["excluded"]}
        seen = [r["seen"]["f"] for f in folds for k, r in f["videos"].items() if k not in f["excluded"]]
        seen_cdnet = [r["seen"]["f"] for f in folds for k, r in f["videos"].items()
                      if k not in f["excluded"] and not k.startswith("ucsd/")]
        mean_unseen = sum(unseen.values()) / len(unseen)
        classic = {name: sum(rows[k]["unseen"]["f"] for k in unseen) / len(unseen)
                   for name, rows in baselines.items() if all(k in rows for k in unseen)}
        best = max(classic.items(), key=lambda kv: kv[1]) if classic else ("n/a", float("nan"))
        minutes = sum(f["train_seconds"] for f in folds) / len(folds) / 60
        lines.append(f"| {run.name} | {','.join(str(f['fold']) for f in folds)} | {len(unseen)} | "
                     f"{mean_unseen:.4f} | {best[0]} {best[1]:.4f} | {mean_unseen - best[1]:+.4f} | "
                     f"{sum(seen) / len(seen):.4f} | {sum(seen_cdnet) / len(seen_cdnet):.4f} | "
                     f"{sum(f['steps'] for f in folds) // len(folds)} | {minutes:.1f} |")
    return "\n".join(lines)


def per_video(run: Path, baseline_dir: Path, protocol: str = "unseen") -> str:
    """Markdown: F per video of one run's folds (left-out videos for ``unseen``, held-out frames
    of the training videos for ``seen``, averaged over the folds that trained on the video) next
    to each classic method, with the mean over videos and over categories (CDnet's overall)."""
    baselines = {p.stem: json.loads(p.read_text()) for p in sorted(baseline_dir.glob("*.json"))}
    folds = [json.loads(p.read_text()) for p in sorted(run.glob("fold*.json"))]
    model: dict[str, list[float]] = {}
    for f in folds:
        for k, r in f["videos"].items():
            if (k in f["excluded"]) == (protocol == "unseen"):
                model.setdefault(k, []).append(r[protocol]["f"])
    keys = sorted(model)
    columns = {"streamcd": {k: sum(v) / len(v) for k, v in model.items()}}
    columns.update({name: {k: rows[k][protocol]["f"] for k in keys} for name, rows in baselines.items()})
    lines = [f"| video ({protocol}) | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| {k} | " + " | ".join(f"{c[k]:.3f}" for c in columns.values()) + " |" for k in keys]
    categories = sorted({k.split("/")[0] for k in keys})

    def mean(values):
        values = list(values)
        return sum(values) / len(values)

    lines.append(f"| mean of {len(keys)} videos | " + " | ".join(
        f"**{mean(c[k] for k in keys):.3f}**" for c in columns.values()) + " |")
    lines.append(f"| mean of {len(categories)} categories | " + " | ".join(
        f"{mean(mean(c[k] for k in keys if k.startswith(cat + '/')) for cat in categories):.3f}"
        for c in columns.values()) + " |")
    return "\n".join(lines)


def main() -> None:
    from streamcd.train.cli import add_recipe_arguments

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared/data")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--fold", type=int, default=None,
                   help="train and score this fold (with --summary: tabulate only this fold)")
    p.add_argument("--baselines", default=None, help="run these classic methods on every video")
    p.add_argument("--summary", type=Path, nargs="*", default=None, help="run folders to tabulate")
    p.add_argument("--baseline-dir", type=Path, default=None)
    p.add_argument("--per-video", choices=["unseen", "seen"], default=None,
                   help="with --summary RUN: the per-video table of that run")
    p.add_argument("--minutes", type=float, default=15)
    p.add_argument("--max-steps", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--median", choices=["still", "all"], default="still",
                   help="background.median of the run-time reference (rows measured before "
                   "2026-11-30 evening used all)")
    p.add_argument("--close-px", type=int, default=None,
                   help="postprocess.close_px of the run (default: the config's; 0 before 2026-12-01)")
    p.add_argument("--min-area-fraction", type=float, default=None,
                   help="postprocess.min_area_fraction of the run (default: the config's; 0 "
                   "before 2026-12-01)")
    p.add_argument("--checkpoints", type=Path, default=None,
                   help="take fold<k>/checkpoint.pt from this run folder instead of training")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "folds" / "default")
    add_recipe_arguments(p)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.summary is not None and args.per_video:
        print(per_video(args.summary[0], args.baseline_dir, args.per_video))
        return
    if args.summary is not None:
        print(summarize(args.summary, args.baseline_dir, args.fold))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    # each process converts UCSD into its own folder: folds of one run may run side by side
    videos = all_videos(args.data, args.out / ("baselines" if args.fold is None else f"fold{args.fold}"))
    if args.baselines:
        run_baselines(args, videos)
    if args.fold is not None:
        result = run_fold(args, videos)
        (args.out / f"fold{args.fold}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
