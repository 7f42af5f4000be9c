"""``streamcd bench``: run the CDnet benchmark, score results from any tool, measure speed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_METHODS = "streamcd,mog2,knn,gsoc,cnt,subsense,lobster,pawcs"


def add_bench_command(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="CDnet benchmark, scoring and speed")
    bsub = bench.add_subparsers(metavar="BENCH")

    cdnet = bsub.add_parser("cdnet", help="run, score and time every method; write a report")
    cdnet.add_argument("--dataset", type=Path, default=None, help="CDnet root (<category>/<video>/)")
    cdnet.add_argument("--ucsd", type=Path, default=None,
                       help="also the UCSD clips under this folder (<name>_/<name>/in), as "
                            "category 'ucsd' (converted to the CDnet layout in OUT/ucsd-cdnet)")
    cdnet.add_argument("--categories", nargs="*", default=None)
    cdnet.add_argument("--videos", nargs="*", default=None,
                       help="keys like baseline/highway or names like highway")
    cdnet.add_argument("--methods", default=DEFAULT_METHODS,
                       help="comma list (unavailable optional ones are skipped with a message)")
    cdnet.add_argument("--out", type=Path, default=Path("out/bench"))
    cdnet.add_argument("--score-frames", choices=("roi", "heldout"), default="roi",
                       help="roi: the whole temporalROI, the official range (default); heldout: "
                            "only the test frames the shipped model never trained on")
    cdnet.add_argument("--jobs", type=_positive, default=None, metavar="N",
                       help="(method, video) runs at once, each in its own worker process "
                            "(default: the CPUs; timings with N > 1 share the machine)")
    cdnet.add_argument("--force", action="store_true",
                       help="rerun every job, also those whose result folder is complete")
    cdnet.add_argument("--backend", choices=("local", "ray"), default="local",
                       help="local worker processes, or Ray tasks (pip install 'streamcd[ray]')")
    cdnet.add_argument("--address", default=None,
                       help="--backend ray: the cluster (auto, ray://HEAD:10001); default: a "
                            "local Ray instance with --jobs CPUs")
    cdnet.add_argument("--zip", action="store_true",
                       help="also write OUT/upload/<method>.zip in the changedetection.net "
                            "upload layout, checked")
    _model_args(cdnet)
    cdnet.add_argument("--pr-frames", type=int, default=40,
                       help="validation frames per video for the PR curve (0 = none)")
    cdnet.add_argument("--no-plots", action="store_true")
    cdnet.add_argument("--in-process", action="store_true",
                       help="no worker process per run (faster start; RSS not per method)")
    cdnet.set_defaults(func=_cmd_cdnet)

    score = bsub.add_parser("score", help="score a CDnet results folder from any tool")
    score.add_argument("--dataset", type=Path, required=True, help="CDnet root (<category>/<video>/)")
    where = score.add_mutually_exclusive_group(required=True)
    where.add_argument("--results", type=Path, help="results root (<category>/<video>/bin%%06d.png)")
    where.add_argument("--tree", type=Path,
                       help="several methods' results (<method>/<category>/<video>/, e.g. "
                            "OUT/results of a bench): also the changedetection.net view")
    score.add_argument("--videos", nargs="*", default=None, help="keys like baseline/highway")
    score.add_argument("--heldout", action="store_true", help="score only the held-out test frames")
    score.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    score.set_defaults(func=_cmd_score)

    check = bsub.add_parser("check-upload",
                            help="check a zip or results folder against the upload layout")
    check.add_argument("path", type=Path, help="a zip, or a folder holding results/<category>/")
    check.add_argument("--dataset", type=Path, required=True, help="CDnet root it is for")
    check.set_defaults(func=_cmd_check_upload)

    speed = bsub.add_parser("speed", help="ms/frame per stage, fps and peak RSS on any video")
    speed.add_argument("source", type=Path, help="a video file or a CDnet video folder")
    speed.add_argument("--methods", default="streamcd,mog2,subsense")
    speed.add_argument("--frames", type=int, default=300, help="frames to run (from the first)")
    speed.add_argument("--streams", type=int, nargs="*", default=[1], metavar="N",
                       help="also run the real pipeline (stages overlapped) with N copies of the "
                            "source sharing the model: aggregate fps (e.g. --streams 1 2 4; "
                            "none to skip)")
    speed.add_argument("--max-batch", type=int, default=1, metavar="N",
                       help="pipeline runs: frames of up to N streams per encoder run (GPU)")
    speed.add_argument("--json", type=Path, default=None)
    _model_args(speed)
    speed.set_defaults(func=_cmd_speed)

    held = bsub.add_parser("heldout", help="streamcd vs classic subtractors on held-out frames")
    held.add_argument("--dataset", type=Path, default=Path("../shared/data/cdnet2014"))
    held.add_argument("--out", type=Path, default=Path("out/bench-heldout"))
    held.add_argument("--methods", default="streamcd,mog2,knn", help="comma list: streamcd,mog2,knn,gsoc,cnt")
    held.add_argument("--videos", nargs="*", default=None)
    _model_args(held)
    held.set_defaults(func=_cmd_heldout)
    bench.set_defaults(func=lambda args: bench.print_help() or 2)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, type=_model_card,
                   help="model card file, or a shipped model's name (default: default)")
    p.add_argument("--provider", default="auto", choices=("auto", "cpu", "cuda", "tensorrt"))
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime CPU threads")


def _model_card(text: str) -> str:
    """A card path as given, or the card of the shipped model named ``text`` (e.g. default-int8)."""
    from ..errors import ModelError
    from ..runtime.assets import resolve_card

    if Path(text).exists():
        return text
    try:
        return str(resolve_card(None, text))
    except ModelError as e:  # argparse turns this into a usage error (exit 2)
        raise argparse.ArgumentTypeError(str(e)) from e


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _methods(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def select_videos(dataset: Path | None, ucsd: Path | None, out: Path,
                  categories: list[str] | None, videos: list[str] | None) -> list:
    from ..cdnet_layout import find_videos
    from ..errors import ConfigError, DatasetError
    from .ucsd import UCSD_CATEGORY, ucsd_names, ucsd_to_cdnet

    if dataset is None and ucsd is None:
        raise ConfigError("give --dataset (a CDnet root) and/or --ucsd (the UCSD folder)")
    found = list(find_videos(dataset)) if dataset is not None else []
    if ucsd is not None and (not categories or UCSD_CATEGORY in categories):
        names = ucsd_names(ucsd)
        if videos:  # convert only the selected clips
            names = [n for n in names if n in videos or f"{UCSD_CATEGORY}/{n}" in videos]
        if names:
            found += find_videos(ucsd_to_cdnet(ucsd, out / "ucsd-cdnet", names))
    if categories:
        found = [v for v in found if v.category in categories]
    if videos:
        found = [v for v in found if v.key in videos or v.name in videos]
    if not found:
        raise DatasetError("no video matches --dataset/--ucsd, --categories and --videos")
    return found


def _cmd_cdnet(args) -> int:
    from tqdm.contrib.logging import logging_redirect_tqdm

    from .progress import BenchBars
    from .report import write_report
    from .suite import BenchOptions, run_bench

    videos = select_videos(args.dataset, args.ucsd, args.out, args.categories, args.videos)
    options = BenchOptions(methods=_methods(args.methods), score_frames=args.score_frames,
                           model=args.model, provider=args.provider, threads=args.threads,
                           isolate=not args.in_process, pr_frames=args.pr_frames,
                           plots=not args.no_plots, jobs=args.jobs, force=args.force,
                           backend=args.backend, address=args.address)
    bars = BenchBars()
    try:
        with logging_redirect_tqdm():  # log lines above the bar, not through it
            result = run_bench(videos, args.out, options, bars)
    except KeyboardInterrupt:
        bars.close()
        print("interrupted: the jobs in flight have no completion marker; run the same command "
              "again to redo only the unfinished ones")
        raise
    finally:
        bars.close()
    paths = write_report(result)
    if args.zip:
        from .upload import write_upload_zips

        paths += write_upload_zips(result)
    print((args.out / "report.md").read_text())
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _cmd_speed(args) -> int:
    import tempfile

    from tqdm import tqdm

    from .report import speed_markdown
    from .runner import MODEL_METHOD, RunSpec, run_isolated
    from .suite import check_methods

    methods, skipped = check_methods(_methods(args.methods))
    for method, reason in skipped.items():
        print(f"skipping {method}: {reason}")
    runs = []
    with tempfile.TemporaryDirectory(prefix="streamcd-speed-") as tmp:
        for method in methods:
            spec = RunSpec(method, args.source, Path(tmp) / method, max_frames=args.frames,
                           model=args.model, provider=args.provider, threads=args.threads)
            with tqdm(total=args.frames, desc=method, unit="frame", leave=False) as bar:
                runs.append(run_isolated(spec, on_frames=bar.update))
    print(speed_markdown(runs))
    pipelines = []
    if MODEL_METHOD in methods and args.streams:
        from .streams import pipeline_markdown, pipeline_speed

        with tempfile.TemporaryDirectory(prefix="streamcd-speed-") as tmp:
            for n in args.streams:
                pipelines.append(pipeline_speed(args.source, n, args.frames, Path(tmp) / str(n),
                                                args.model, args.provider, args.threads,
                                                args.max_batch))
        mog2 = next((r.fps for r in runs if r.method == "mog2"), None)
        print("\nPipeline (decode, model and sinks on their own threads; streams share the model):\n")
        print(pipeline_markdown(pipelines, mog2))
    if args.json:
        args.json.write_text(json.dumps({"methods": [r.to_dict() for r in runs],
                                         "pipeline": [p.to_dict() for p in pipelines]}, indent=2))
    return 0


def _cmd_score(args) -> int:
    from ..cdnet_layout import CdnetVideo
    from ..errors import DatasetError
    from .evaluate import score_results
    from .ranking import cdnet_view, view_markdown

    frames = CdnetVideo.heldout_range if args.heldout else None
    if args.results is not None:
        report = score_results(args.dataset, args.results, args.videos, frames)
        print(report.to_markdown())
        if args.json:
            args.json.write_text(report.to_json())
        return 0
    methods = sorted(p.name for p in args.tree.iterdir() if p.is_dir()) if args.tree.is_dir() else []
    if not methods:
        raise DatasetError(f"--tree {args.tree}: no <method>/ folders (expected e.g. OUT/results)")
    reports = {m: score_results(args.dataset, args.tree / m, args.videos, frames) for m in methods}
    view = cdnet_view(reports)
    print(view_markdown(view))
    for method, report in reports.items():
        print(f"\n### {method}\n\n{report.to_markdown()}")
    if args.json:
        args.json.write_text(json.dumps({"methods": {m: r.to_dict() for m, r in reports.items()},
                                         "cdnet_view": view.to_dict()}, indent=2,
                                        allow_nan=False))
    return 0


def _cmd_check_upload(args) -> int:
    from ..cdnet_layout import find_videos
    from .upload import check_upload

    problems = check_upload(args.path, find_videos(args.dataset))
    for problem in problems:
        print(problem)
    print(f"{args.path}: " + (f"{len(problems)} problem(s)" if problems else "follows the upload "
                              "layout"))
    return 1 if problems else 0


def _cmd_heldout(args) -> int:
    from ..cdnet_layout import CdnetVideo, find_videos
    from ..errors import ConfigError
    from .baselines import baseline_names
    from .heldout import MODEL_METHOD, compare_heldout, heldout_markdown

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    valid = (MODEL_METHOD, *baseline_names())
    unknown = [m for m in methods if m not in valid]
    if unknown:
        raise ConfigError(f"--methods: unknown {', '.join(unknown)}; valid: {', '.join(valid)}")
    videos = ([CdnetVideo.open(args.dataset / v) for v in args.videos] if args.videos
              else find_videos(args.dataset))
    model = None
    if MODEL_METHOD in methods:
        from ..runtime.onnx_model import OnnxChangeModel

        model = OnnxChangeModel.load(args.model, provider=args.provider, threads=args.threads)
        print(f"{MODEL_METHOD}: model {model.card.name} on {model.provider}")
    rows = compare_heldout(videos, args.out, methods, model)
    table = heldout_markdown(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "heldout.md").write_text(table + "\n")
    (args.out / "heldout.json").write_text(json.dumps(
        [{"video": r.video, "frames": r.frames, "method": r.method, "ms_per_frame": r.ms_per_frame,
          **r.metrics.as_dict()} for r in rows], indent=2))
    print(table)
    return 0
