"""``streamcd bench``: score CDnet results, compare methods on held-out frames."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_bench_command(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="CDnet scoring and method comparison")
    bsub = bench.add_subparsers(metavar="BENCH")

    score = bsub.add_parser("score", help="score a CDnet results folder from any tool")
    score.add_argument("--dataset", type=Path, required=True, help="CDnet root (<category>/<video>/)")
    score.add_argument("--results", type=Path, required=True, help="results root (<category>/<video>/bin%%06d.png)")
    score.add_argument("--videos", nargs="*", default=None, help="keys like baseline/highway")
    score.add_argument("--heldout", action="store_true", help="score only the held-out test frames")
    score.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    score.set_defaults(func=_cmd_score)

    held = bsub.add_parser("heldout", help="streamcd vs classic subtractors on held-out frames")
    held.add_argument("--dataset", type=Path, default=Path("../shared/data/cdnet2014"))
    held.add_argument("--out", type=Path, default=Path("out/bench-heldout"))
    held.add_argument("--methods", default="streamcd,mog2,knn", help="comma list: streamcd,mog2,knn,gsoc,cnt")
    held.add_argument("--videos", nargs="*", default=None)
    held.set_defaults(func=_cmd_heldout)
    bench.set_defaults(func=lambda args: bench.print_help() or 2)


def _cmd_score(args) -> int:
    from ..cdnet_layout import CdnetVideo
    from .evaluate import score_results

    report = score_results(args.dataset, args.results, args.videos,
                           CdnetVideo.heldout_range if args.heldout else None)
    print(report.to_markdown())
    if args.json:
        args.json.write_text(report.to_json())
    return 0


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
    rows = compare_heldout(videos, args.out, methods)
    table = heldout_markdown(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "heldout.md").write_text(table + "\n")
    (args.out / "heldout.json").write_text(json.dumps(
        [{"video": r.video, "frames": r.frames, "method": r.method, "ms_per_frame": r.ms_per_frame,
          **r.metrics.as_dict()} for r in rows], indent=2))
    print(table)
    return 0
