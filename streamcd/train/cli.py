"""``streamcd train``, ``adapt``, ``export`` and ``quantize`` (torch is imported only by the first three)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StreamcdError

if TYPE_CHECKING:
    from .loop import TrainConfig


def _require_torch():
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise StreamcdError("training needs torch: pip install 'streamcd[train]'") from e


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """The training-recipe options shared by ``streamcd train`` and the training benchmarks."""
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--loss", choices=["tcl", "contrastive", "double_margin"], default="tcl")
    parser.add_argument("--tau", type=float, default=0.1,
                        help="TCL tolerance of unchanged pairs (double_margin: m1)")
    parser.add_argument("--margin", type=float, default=1.0,
                        help="margin of changed pairs (double_margin: m2)")
    parser.add_argument("--encoder", choices=["scratch", "lite0"], default="scratch",
                        help="from-scratch FCN or EfficientNet-Lite0 ImageNet trunk")
    parser.add_argument("--distance", choices=["l2", "cosine"], default="l2",
                        help="distance of unit-normalised features")
    parser.add_argument("--attention", action="store_true",
                        help="DASNet dual attention (spatial + channel, gates start at 0)")
    parser.add_argument("--no-mlso", action="store_true",
                        help="deepest layer only: no side-output losses, no averaged side predictions")
    parser.add_argument("--widths", type=int, nargs=3, default=[16, 32, 64], metavar="C",
                        help="scratch encoder: channels of its three stages (strides 2, 4, 8)")
    parser.add_argument("--embed", type=int, nargs=3, default=[16, 24, 32], metavar="C",
                        help="channels of the three unit-normalised side embeddings")
    parser.add_argument("--paste", type=float, default=0.3,
                        help="probability of pasting another video's foreground onto a query")
    parser.add_argument("--ucsd-weight", type=float, default=0.3, help="share of UCSD batches (0 = off)")
    parser.add_argument("--reference-median", choices=["all", "still"], default="all",
                        help="median of the training references: all (plain; default, best on "
                        "unseen cameras) or still (the run-time default)")
    parser.add_argument("--temporal-mean", type=int, default=2, metavar="N",
                        help="the card's postprocess.temporal_mean (used where a pipeline leaves it "
                        "unset): average the distance maps of N frames; 2 (default) is best "
                        "measured on new cameras, 1 on the cameras the model trained on")
    parser.add_argument("--bank-threshold", type=float, default=None, metavar="D",
                        help="the card's bank_threshold: base threshold of the feature bank "
                        "(default: the recipe's, chosen leave-one-video-out on long videos)")
    parser.add_argument("--alternates", type=float, default=0.0,
                        help="probability of pairing a query with a median of another stretch of "
                        "its video's frames instead of the run-time reference")


def recipe_from_args(args: argparse.Namespace, **run) -> TrainConfig:
    """TrainConfig from the options of :func:`add_recipe_arguments` plus run settings
    (``data``, ``out``, ``minutes``, ``max_steps``, ``exclude``, ``threads``, ...)."""
    from ..config import TEMPORAL_MEAN_MAX
    from .augment import AugmentConfig
    from .loop import TrainConfig
    from .net import NetConfig

    if args.bank_threshold is not None and not 0 < args.bank_threshold < 2:
        raise StreamcdError(f"--bank-threshold {args.bank_threshold}: give a distance in (0, 2)")
    if not 1 <= args.temporal_mean <= TEMPORAL_MEAN_MAX:
        raise StreamcdError(f"--temporal-mean {args.temporal_mean}: give 1 (each frame alone) to "
                            f"{TEMPORAL_MEAN_MAX}")
    mlso = not args.no_mlso
    net = NetConfig(encoder=args.encoder, distance=args.distance, attention=args.attention,
                    side_weights=(1.0, 1.0, 1.0) if mlso else (0.0, 0.0, 1.0),
                    widths=tuple(args.widths), embed=tuple(args.embed))
    augment = AugmentConfig(paste_prob=args.paste, alternate_prob=args.alternates)
    return TrainConfig(batch=args.batch, lr=args.lr, loss=args.loss, tau=args.tau, margin=args.margin,
                       ucsd_weight=args.ucsd_weight, reference_median=args.reference_median,
                       temporal_mean=args.temporal_mean,
                       **({} if args.bank_threshold is None else {"bank_threshold": args.bank_threshold}),
                       beta=(0.5, 0.5, 0.5) if mlso else (0.0, 0.0, 0.0), net=net, augment=augment, **run)


def add_train_commands(sub: argparse._SubParsersAction) -> None:
    tr = sub.add_parser("train", help="train the change model on CDnet (+ UCSD) folders")
    tr.add_argument("--data", type=Path, default=Path("../shared/data"),
                    help="folder holding cdnet2014/ (and optionally ucsd/)")
    tr.add_argument("--out", type=Path, default=Path("runs/default"))
    tr.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget")
    tr.add_argument("--max-steps", type=int, default=6000)
    add_recipe_arguments(tr)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--threads", type=int, default=None)
    tr.add_argument("--device", default="cpu", help="cpu or cuda")
    tr.add_argument("--exclude", nargs="+", default=[], metavar="CATEGORY/VIDEO",
                    help="videos left out entirely (no training or validation frame)")
    tr.set_defaults(func=_cmd_train)

    sh = sub.add_parser("train-shadows", help="train the shadow network (hard cast shadows vs "
                        "objects) on the CDnet videos with shadow labels")
    sh.add_argument("--data", type=Path, default=Path("../shared/data"),
                    help="folder holding cdnet2014/")
    sh.add_argument("--out", type=Path, default=Path("runs/shadows"),
                    help="writes shadows.onnx (name it in a model card as \"shadows\"), shadows.pt")
    sh.add_argument("--steps", type=int, default=1500)
    sh.add_argument("--stride", type=int, default=1, choices=(1, 2),
                    help="the first stage's stride on the bank's grid (2: about a third of the "
                    "cost, and more of the objects taken for shadow)")
    sh.add_argument("--seed", type=int, default=0)
    sh.add_argument("--threads", type=int, default=None)
    sh.add_argument("--exclude", nargs="+", default=[], metavar="CATEGORY/VIDEO",
                    help="videos left out entirely")
    sh.set_defaults(func=_cmd_train_shadows)

    ex = sub.add_parser("export", help="export a checkpoint to ONNX + model card")
    ex.add_argument("checkpoint", type=Path)
    ex.add_argument("--out", type=Path, default=Path("export"))
    ex.add_argument("--name", default="default")
    ex.add_argument("--shadows", type=Path, default=None, metavar="ONNX",
                    help="a shadow network (streamcd train-shadows) to name in the card; copied "
                    "to --out as shadows.onnx")
    ex.set_defaults(func=_cmd_export)

    ad = sub.add_parser("adapt", help="fine-tune a trained model on a few labelled frames of one camera")
    ad.add_argument("--video", type=Path, required=True,
                    help="CDnet-style folder: input/, groundtruth/, optional ROI.bmp and temporalROI.txt")
    ad.add_argument("--frames", type=int, default=40, help="labelled frames to fine-tune on")
    ad.add_argument("--val-frames", type=int, default=8,
                    help="further labelled frames to re-pick the threshold and the best step on")
    ad.add_argument("--minutes", type=float, default=3.0, help="wall-clock budget of the fine-tuning")
    ad.add_argument("--max-steps", type=int, default=1000)
    ad.add_argument("--base", type=Path, default=Path("export/default.pt"),
                    help="checkpoint to start from (default: the shipped model's)")
    ad.add_argument("--out", type=Path, default=None, help="default: runs/adapt/<category>_<video>")
    ad.add_argument("--name", default=None, help="model card name (default: <video>-adapted)")
    ad.add_argument("--lr", type=float, default=5e-4)
    ad.add_argument("--batch", type=int, default=8)
    ad.add_argument("--batchnorm", choices=["frozen", "train"], default="frozen",
                    help="keep the base's batch-norm statistics or re-estimate them on the scene")
    ad.add_argument("--measure", action="store_true",
                    help="also score base and adapted model on the held-out frames (needs their groundtruth)")
    ad.add_argument("--shadows", type=Path, default=None, metavar="ONNX",
                    help="shadow network to name in the adapted card (default: the shadows.onnx "
                    "beside --base, if there is one)")
    ad.add_argument("--seed", type=int, default=0)
    ad.add_argument("--threads", type=int, default=None)
    ad.set_defaults(func=_cmd_adapt)

    qu = sub.add_parser("quantize", help="write an int8 variant of a model card (CPU speed)")
    qu.add_argument("--model", type=Path, default=None, help="model card (default: the shipped model)")
    qu.add_argument("--calibration", type=Path, nargs="+", default=[Path("../shared/data/cdnet2014")],
                    help="CDnet root(s) or video folder(s); only their training frames are read")
    qu.add_argument("--frames", type=int, default=32, help="calibration frames per video")
    qu.add_argument("--out", type=Path, default=Path("export"))
    qu.add_argument("--name", default=None, help="card name (default: <model name>-int8)")
    qu.set_defaults(func=_cmd_quantize)


def _cmd_train(args) -> int:
    _require_torch()
    from .loop import train

    if not (args.data / "cdnet2014").is_dir():
        raise StreamcdError(f"{args.data}: no cdnet2014/ folder; point --data at the dataset root")
    cfg = recipe_from_args(args, data=args.data, out=args.out, minutes=args.minutes,
                           max_steps=args.max_steps, seed=args.seed, threads=args.threads,
                           device=args.device, exclude=tuple(args.exclude))
    path = train(cfg)
    print(f"checkpoint: {path}")
    return 0


def _cmd_train_shadows(args) -> int:
    _require_torch()
    from .shadows import ShadowTrainConfig, train_shadows

    if not (args.data / "cdnet2014").is_dir():
        raise StreamcdError(f"{args.data}: no cdnet2014/ folder; point --data at the dataset root")
    if args.steps < 1:
        raise StreamcdError(f"--steps {args.steps}: give at least 1")
    path = train_shadows(ShadowTrainConfig(data=args.data, out=args.out, exclude=tuple(args.exclude),
                                           steps=args.steps, stride=args.stride, seed=args.seed,
                                           threads=args.threads))
    print(f"shadow network: {path}")
    return 0


def _cmd_export(args) -> int:
    _require_torch()
    from ..runtime.onnx_model import given_shadows, shadows_entry
    from .export import export_onnx, parity

    if not args.checkpoint.exists():
        raise StreamcdError(f"{args.checkpoint}: checkpoint not found (write one with 'streamcd train')")
    shadows = given_shadows(args.shadows)
    args.out.mkdir(parents=True, exist_ok=True)
    card = export_onnx(args.checkpoint, args.out, args.name, extra=shadows_entry(shadows, args.out))
    diff = parity(args.checkpoint, card)
    print(f"model card: {card} (ONNX vs torch max abs difference {diff:.2e})")
    return 0


def _cmd_adapt(args) -> int:
    _require_torch()
    from .adapt import AdaptConfig, adapt

    cfg = AdaptConfig(video=args.video, base=args.base, out=args.out, name=args.name, frames=args.frames,
                      val_frames=args.val_frames, minutes=args.minutes, max_steps=args.max_steps,
                      batch=args.batch, lr=args.lr, batchnorm=args.batchnorm, measure=args.measure,
                      shadows=args.shadows, seed=args.seed, threads=args.threads)
    r = adapt(cfg)
    print(f"model card: {r.card}")
    print(f"trained on frames {r.train_frames[0]}..{r.train_frames[-1]} ({len(r.train_frames)} frames), "
          f"{r.steps} steps, best step {r.best_step}; threshold {r.threshold:.3f}")
    print(f"validation F ({len(r.val_frames)} frames): {r.val_f_before:.4f} -> {r.val_f_after:.4f}")
    if r.heldout_f_after is not None:
        print(f"held-out F: {r.heldout_f_before:.4f} -> {r.heldout_f_after:.4f}")
    return 0


def _cmd_quantize(args) -> int:
    from ..cdnet_layout import CdnetVideo, find_videos
    from ..runtime.assets import resolve_card
    from ..runtime.quantize import quantize_card

    videos = []
    for folder in args.calibration:
        videos += [CdnetVideo.open(folder)] if (folder / "input").is_dir() else find_videos(folder)
    card = quantize_card(resolve_card(args.model), videos, args.out, args.name, args.frames)
    print(f"model card: {card} (calibrated on the training frames of {', '.join(v.key for v in videos)})")
    return 0
