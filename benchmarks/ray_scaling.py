"""Throughput with 1, 2, 4, 8 file streams: the local (one-process) backend vs local Ray.

Every stream reads the same generated clip (a moving square, H.264) and writes JSON Lines, so both
backends do the same work on the same frames in the same run. Per configuration it reports the
wall time of ``run()`` (Ray: actor start-up included, ``ray.init`` not), the steady throughput
(results per second between the first and the last result, start-up excluded), the model actor's
mean batch, the model's busy time as a share of the wall time (local: the streams' summed
inference time, which overlaps across threads) and the 1-minute load average before the run (the
machine may be shared). Not a test; run it by hand and paste the table into docs/scaling.md::

    nice .venv/bin/python benchmarks/ray_scaling.py --frames 60 --size 320x240 --cpus 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streamcd.config import PipelineConfig
from streamcd.pipeline import Pipeline, RunObserver
from tests.conftest import square_frames, write_clip


class Clock(RunObserver):
    def __init__(self) -> None:
        self.first = self.last = 0.0
        self.n = 0

    def on_result(self, stream, result) -> None:
        now = time.monotonic()
        self.first = self.first or now
        self.last, self.n = now, self.n + 1

    def steady_fps(self) -> float:
        return (self.n - 1) / (self.last - self.first) if self.n > 1 else 0.0


def config(n: int, clip: Path, out: Path, threads: int, max_batch: int) -> PipelineConfig:
    streams = [{"name": f"s{i}", "source": {"type": "video", "path": str(clip)},
                "background": {"frames": 5, "stride": 1},
                "sinks": [{"type": "jsonl", "path": str(out / f"s{i}.jsonl")}]} for i in range(n)]
    return PipelineConfig.model_validate({
        "model": {"provider": "cpu", "threads": threads, "max_batch": max_batch, "max_wait_ms": 5},
        "ray": {"model_cpus": 1, "stream_cpus": 0.1},
        "streams": streams})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--streams", default="1,2,4,8")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    ap.add_argument("--threads", type=int, default=2, help="ONNX intra-op threads, both backends")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    import ray

    from streamcd.cluster.ray_backend import RayPipeline
    from streamcd.runtime.onnx_model import OnnxChangeModel

    tmp = Path(tempfile.mkdtemp(prefix="streamcd-scaling-"))
    clip = write_clip(tmp / "clip.mp4", square_frames(args.frames, size=(w, h))[0])
    model = OnnxChangeModel.load(None, provider="cpu", threads=args.threads)
    ray.init(num_cpus=args.cpus, object_store_memory=200 * 2**20, include_dashboard=False,
             log_to_driver=False)
    print(f"{args.frames} frames {w}x{h} per stream, {os.cpu_count()} cores, "
          f"ONNX threads {args.threads}, Ray num_cpus {args.cpus}")
    print("| streams | backend | frames | wall s | fps (wall) | fps (steady) | mean batch "
          "| model busy | load 1m |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in (int(v) for v in args.streams.split(",")):
        for backend in ("local", "ray"):
            load = os.getloadavg()[0]
            # as measured in docs/scaling.md: the local backend unbatched, model actors batch 8
            cfg = config(n, clip, tmp / f"{backend}{n}", args.threads, 1 if backend == "local" else 8)
            clock = Clock()
            t0 = time.monotonic()
            if backend == "local":
                report = Pipeline(cfg, model).run(observer=clock)
                batch, busy = "1", sum(s.times.inference for s in report.streams)
            else:
                report = RayPipeline(cfg).run(observer=clock)
                batch, busy = f"{report.models[0].mean_batch:.1f}", report.models[0].busy_s
            wall = time.monotonic() - t0
            frames = sum(s.frames for s in report.streams)
            assert report.ok and frames == n * args.frames, [s.error for s in report.streams]
            print(f"| {n} | {backend} | {frames} | {wall:.1f} | {frames / wall:.1f} | "
                  f"{clock.steady_fps():.1f} | {batch} | {100 * busy / wall:.0f}% | {load:.1f} |",
                  flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
