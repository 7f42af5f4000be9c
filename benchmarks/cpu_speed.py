"""CPU end-to-end fps of model variants x ORT threads, interleaved, against MOG2 in the same run.

On a shared machine one run's fps says little; here every round runs each variant once (order
rotated) and MOG2 once on the same frames, and the table gives medians and the median of the
per-round ratios to the first variant and to MOG2. Pipeline runs are ``streamcd run``'s
(decode, model and sinks on their own threads; CDnet PNG sink). Not a test: run it by hand::

    uptime; .venv/bin/python benchmarks/cpu_speed.py assets/highway.mp4 --rounds 5 \\
        --variants default:1 default:2 default-int8:1 default-int8:2 --streams 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streamcd.bench.runner import RunSpec, run_method
from streamcd.bench.streams import pipeline_speed
from streamcd.runtime import onnx_model
from streamcd.runtime.assets import resolve_card


@contextmanager
def spinning(enabled: bool):
    """Session options with ORT's spin-waiting workers (streamcd turns them off)."""
    original = onnx_model.session_options

    def with_spin(threads=None):
        options = original(threads)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        return options

    if enabled:
        onnx_model.session_options = with_spin
    try:
        yield
    finally:
        onnx_model.session_options = original


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path, help="video file or CDnet folder")
    p.add_argument("--variants", nargs="+", default=["default:1", "default:2"],
                   metavar="MODEL:THREADS[:spin]", help=":spin lets ORT's idle workers spin (off by default)")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--streams", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    variants = [v.split(":") for v in args.variants]
    fps: dict[str, list[float]] = {":".join(v): [] for v in variants}
    fps["mog2"] = []
    loads = []
    with tempfile.TemporaryDirectory(prefix="streamcd-cpu-speed-") as tmp:
        for r in range(args.rounds):
            loads.append(os.getloadavg()[0])
            order = variants[r % len(variants):] + variants[: r % len(variants)]
            for variant in order:
                model, threads = variant[0], int(variant[1])
                with spinning("spin" in variant[2:]):
                    run = pipeline_speed(args.source, args.streams, args.frames, Path(tmp) / "p",
                                         str(resolve_card(None, model)), "cpu", threads)
                fps[":".join(variant)].append(run.aggregate_fps)
            mog2 = run_method(RunSpec("mog2", args.source, Path(tmp) / "m", max_frames=args.frames))
            fps["mog2"].append(mog2.fps)
            print(f"round {r + 1}: load {loads[-1]:.1f}  "
                  + "  ".join(f"{k} {v[-1]:.1f}" for k, v in fps.items()), flush=True)
    base = next(iter(fps))
    print(f"\n{args.source}, {args.frames} frames x {args.streams} stream(s), {args.rounds} rounds, "
          f"{len(os.sched_getaffinity(0))} CPUs, load 1-min {min(loads):.1f}..{max(loads):.1f}\n")
    print(f"| variant (model:threads) | median fps | min..max | x {base} | x MOG2 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for k, v in fps.items():
        to_base = statistics.median(a / b for a, b in zip(v, fps[base]))
        to_mog2 = statistics.median(a / b for a, b in zip(v, fps["mog2"]))
        print(f"| {k} | {statistics.median(v):.1f} | {min(v):.0f}..{max(v):.0f} | {to_base:.2f} | "
              f"{to_mog2:.2f} |")


if __name__ == "__main__":
    main()
