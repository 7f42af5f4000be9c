"""Soak test: a local RTSP stream through the whole pipeline for a while; RSS, latency, drops.

Starts tests/rtsp_server.py (needs Debian's python3 with gst-rtsp-server, see .ci/run) and runs
one stream (RTSP -> median background -> model -> JSONL sink, optionally an annotated MP4) for
``--minutes``. Every ``--every`` seconds it prints RSS, fps in/out, latency p50/p99 (last 10 s,
frame arrival -> sinks), drops and reconnects; at the end a summary against the targets
(RSS growth <= 50 MB after warm-up, p99 < 80 ms and not growing). Not a test: run it by hand::

    nice .venv/bin/python benchmarks/soak.py --minutes 30 --size 640x480 --fps 25
    nice .venv/bin/python benchmarks/soak.py --minutes 5 --restart-every 60   # with outages
    nice .venv/bin/python benchmarks/soak.py --minutes 30 --max-side 320    # model at 320x240
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streamcd.config import PipelineConfig
from streamcd.pipeline import Pipeline, RunObserver, StreamReport
from streamcd.stats import StreamStats
from tests.rtsp_fixtures import RtspServer, free_port

RSS_LIMIT_MB, P99_LIMIT_MS = 50.0, 80.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--size", default="640x480", help="WIDTHxHEIGHT of the test stream")
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    p.add_argument("--model", default="default", help="shipped model name (e.g. default-int8)")
    p.add_argument("--every", type=float, default=10.0, help="seconds between report rows")
    p.add_argument("--warmup", type=float, default=30.0, help="seconds before the RSS baseline")
    p.add_argument("--queue-size", type=int, default=None, help="source queue (default: schema's)")
    p.add_argument("--max-side", type=int, default=None,
                   help="stream max_side: the model sees frames downscaled to this longest side")
    p.add_argument("--annotated", action="store_true", help="also write an annotated MP4")
    p.add_argument("--restart-every", type=float, default=0.0,
                   help="kill and restart the server every N seconds (0 = never)")
    p.add_argument("--out", type=Path, default=None, help="write the rows and summary as JSON")
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    server = RtspServer(free_port(), (width, height), args.fps)
    server.start()
    work = Path(tempfile.mkdtemp(prefix="streamcd-soak-"))
    sinks = [{"type": "jsonl", "path": str(work / "cam.jsonl"), "every": 25}]
    if args.annotated:
        sinks.append({"type": "annotated_video", "path": str(work / "cam.mp4")})
    config = PipelineConfig.model_validate({
        "model": {"provider": "cpu", "threads": args.threads, "name": args.model},
        "stats_every_s": 1.0,
        "streams": [{"name": "cam", "source": {"type": "rtsp", "url": server.url,
                                              "read_timeout_s": 2, "open_timeout_s": 2,
                                              "reconnect": {"initial_delay_s": 0.2},
                                              **({"queue_size": args.queue_size}
                                                 if args.queue_size else {})},
                     "sinks": sinks, "max_side": args.max_side}],
    })
    pipeline = Pipeline(config)
    stop = threading.Event()
    reports = []
    latest = Latest()
    thread = threading.Thread(target=lambda: reports.append(pipeline.run(observer=latest, stop=stop)),
                              daemon=True)
    started = time.monotonic()
    thread.start()
    rows, baseline = [], None
    print(f"{width}x{height} @ {args.fps} fps for {args.minutes:g} min; outputs in {work}")
    print(f"{'t_s':>6} {'rss_mb':>7} {'fps_in':>6} {'fps_out':>7} {'p50_ms':>6} {'p99_ms':>6} "
          f"{'max_ms':>6} {'dropped':>7} {'reconn':>6} {'load1':>5}")
    next_restart = args.restart_every or float("inf")
    try:
        while (elapsed := time.monotonic() - started) < args.minutes * 60 and thread.is_alive():
            time.sleep(args.every)
            elapsed = time.monotonic() - started
            if elapsed >= next_restart:
                server.kill()
                time.sleep(1.0)
                server.start()
                next_restart += args.restart_every
            if latest.report is None:
                continue
            s = StreamStats.of(latest.report)
            row = {"t_s": round(elapsed, 1), "rss_mb": round(rss_mb(), 1),
                   "fps_in": round(s.fps_in, 1), "fps_out": round(s.fps_out, 1),
                   "p50_ms": s.latency_p50_ms, "p99_ms": s.latency_p99_ms,
                   "max_ms": s.latency_max_ms, "dropped": s.dropped, "reconnects": s.reconnects,
                   "load1": os.getloadavg()[0]}
            rows.append(row)
            if baseline is None and elapsed >= args.warmup:
                baseline = row["rss_mb"]
            print(f"{row['t_s']:>6.0f} {row['rss_mb']:>7.1f} {row['fps_in']:>6.1f} "
                  f"{row['fps_out']:>7.1f} {fmt(row['p50_ms'])} {fmt(row['p99_ms'])} "
                  f"{fmt(row['max_ms'])} {row['dropped']:>7d} {row['reconnects']:>6d} "
                  f"{row['load1']:>5.1f}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join(30)
        server.kill()
    summary = summarize(rows, baseline, args.warmup)
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    return 0


class Latest(RunObserver):
    """Keeps the stream's StreamReport, which the pipeline hands over with each stats call."""

    report: StreamReport | None = None

    def on_stats(self, reports) -> None:
        self.report = reports[0]


def fmt(ms: float | None) -> str:
    return f"{'-':>6}" if ms is None else f"{ms:>6.1f}"


def summarize(rows: list[dict], baseline: float | None, warmup_s: float) -> dict:
    # The first seconds hold the frames of the median background: skip them like the RSS.
    after = [r for r in rows if r["p99_ms"] is not None and r["t_s"] >= warmup_s]
    half = len(after) // 2
    p99s = [r["p99_ms"] for r in after]
    growth = rows[-1]["rss_mb"] - baseline if rows and baseline is not None else None
    first = sorted(p99s[:half])[len(p99s[:half]) // 2] if half else None
    last = sorted(p99s[half:])[len(p99s[half:]) // 2] if half else None
    return {
        "rss_growth_mb": growth,
        "rss_ok": growth is not None and growth <= RSS_LIMIT_MB,
        "p99_ms_max": max(p99s) if p99s else None,
        "p99_ms_median_first_half": first,
        "p99_ms_median_second_half": last,
        "p99_ok": bool(p99s) and max(p99s) < P99_LIMIT_MS,
        "dropped": rows[-1]["dropped"] if rows else None,
        "reconnects": rows[-1]["reconnects"] if rows else None,
        "mean_load1": sum(r["load1"] for r in rows) / len(rows) if rows else None,
    }


if __name__ == "__main__":
    sys.exit(main())
