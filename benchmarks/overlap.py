"""End-to-end fps of a pipeline YAML with and without the stage threads (streamcd/stages.py).

Runs the config alternately with the read-ahead / write-behind threads and with synchronous
stand-ins (the old one-thread loop), ``--repeats`` times each, sinks into a temporary folder,
and prints fps per run and the median ratio. ``--threads`` overrides ``model.threads``.
Not a test: run it by hand, with the machine load reported::

    uptime; .venv/bin/python benchmarks/overlap.py pipelines/demo.yaml --repeats 3
    .venv/bin/python benchmarks/overlap.py pipelines/cdnet.yaml --max-frames 600 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import streamcd.pipeline as pipeline_module
from streamcd.config import PipelineConfig
from streamcd.pipeline import Pipeline


class _SyncReadAhead:
    """The pre-stages behaviour: the stream's thread decodes."""

    def __init__(self, items=None, depth=0, name=""):
        self._items = items

    def relay(self, callback):
        return callback

    def start(self, items):
        self._items = items

    def __iter__(self):
        return iter(self._items)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


class _SyncWriteBehind:
    """The pre-stages behaviour: the stream's thread writes the sinks."""

    def __init__(self, deliver, depth=0, name=""):
        self.put = deliver

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


@contextmanager
def overlap(enabled: bool):
    saved = pipeline_module.ReadAhead, pipeline_module.WriteBehind
    if not enabled:
        pipeline_module.ReadAhead, pipeline_module.WriteBehind = _SyncReadAhead, _SyncWriteBehind
    try:
        yield
    finally:
        pipeline_module.ReadAhead, pipeline_module.WriteBehind = saved


def redirect_sinks(config: PipelineConfig, out: Path) -> list[str]:
    """``--set`` overrides moving every sink's path/dir into ``out``."""
    overrides = []
    for i, stream in enumerate(config.streams):
        for j, sink in enumerate(stream.sinks):
            for key in ("path", "dir"):
                value = getattr(sink, key, None)
                if value is not None:
                    overrides.append(f"streams[{i}].sinks[{j}].{key}={out / f's{i}-{j}-{Path(value).name}'}")
    return overrides


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", type=Path)
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="model.threads (default: the config's)")
    args = p.parse_args()
    base = PipelineConfig.from_yaml(args.config)
    extra = [f"model.threads={args.threads}"] if args.threads else []
    with tempfile.TemporaryDirectory(prefix="streamcd-overlap-") as tmp:
        config = PipelineConfig.from_yaml(args.config, redirect_sinks(base, Path(tmp)) + extra)
        model = Pipeline(config).model
        fps: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeats):
            for enabled in (False, True):
                with overlap(enabled):
                    started = time.perf_counter()
                    report = Pipeline(config, model).run(max_frames=args.max_frames)
                    wall = time.perf_counter() - started
                if not report.ok:
                    raise SystemExit(f"run failed: {[s.error for s in report.streams]}")
                frames = sum(s.frames for s in report.streams)
                fps[enabled].append(frames / wall)
                times = report.streams[0].times.per_frame_ms()
                print(f"overlap={'on ' if enabled else 'off'} frames={frames} wall={wall:.2f}s "
                      f"fps={frames / wall:.1f} stages(ms)={ {k: round(v, 2) for k, v in times.items()} }")
    ratio = statistics.median(a / b for a, b in zip(fps[True], fps[False]))
    print(f"provider={model.provider} threads={args.threads or config.model.threads} "
          f"cpus={len(os.sched_getaffinity(0))} load={os.getloadavg()[0]:.2f}")
    print(f"median fps off {statistics.median(fps[False]):.1f}, on {statistics.median(fps[True]):.1f}, "
          f"on/off ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
