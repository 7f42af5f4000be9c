"""Every stream's stats as Prometheus metrics (prometheus-client), labelled ``stream``.

Shared by the ``*.prom`` metrics file (stats.py, for node_exporter's textfile collector) and
``streamcd serve``'s ``/metrics``, so both expose the same names::

    text = prometheus_text([StreamStats.of(report) for report in reports])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .stats import WINDOW_S, StreamStats

# name (counters without _total), help, StreamStats field
_COUNTERS = [
    ("streamcd_frames", "Results written to the sinks.", "frames"),
    ("streamcd_dropped_frames", "Live frames dropped (consumer slower).", "dropped"),
    ("streamcd_corrupt_frames", "Undecodable frames skipped.", "corrupt"),
    ("streamcd_reconnects", "Successful reconnects.", "reconnects"),
]
_GAUGES = [
    ("streamcd_fps_in", f"Frames read per second over the last {WINDOW_S:g} s.", "fps_in"),
    ("streamcd_fps_out", f"Results per second over the last {WINDOW_S:g} s.", "fps_out"),
    ("streamcd_running", "1 while the stream runs.", "running"),
    ("streamcd_failed", "1 when the stream stopped on an error.", "error"),
]


def stream_metrics(stats: Sequence[StreamStats]) -> Iterator[Metric]:
    """One metric family per stats field, a sample per stream."""
    for name, help_, attr in _COUNTERS:
        family = CounterMetricFamily(name, help_, labels=["stream"])
        for s in stats:
            family.add_metric([s.stream], float(getattr(s, attr)))
        yield family
    for name, help_, attr in _GAUGES:
        family = GaugeMetricFamily(name, help_, labels=["stream"])
        for s in stats:
            value = getattr(s, attr)
            family.add_metric([s.stream], float(value is not None) if attr == "error"
                              else float(value))
        yield family
    latency = GaugeMetricFamily("streamcd_latency_seconds",
                                f"Frame arrival to sinks, last {WINDOW_S:g} s.",
                                labels=["stream", "quantile"])
    for s in stats:
        for q, ms in (("0.5", s.latency_p50_ms), ("0.99", s.latency_p99_ms)):
            latency.add_metric([s.stream, q], float("nan") if ms is None else ms / 1000)
    yield latency


class MetricsCollector(Collector):
    """A prometheus-client collector calling ``collect_fn`` at every scrape."""

    def __init__(self, collect_fn: Callable[[], Iterator[Metric]]) -> None:
        self.collect_fn = collect_fn

    def collect(self) -> Iterator[Metric]:
        return self.collect_fn()


def prometheus_text(stats: Sequence[StreamStats]) -> str:
    """The Prometheus text exposition of ``stats``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(lambda: stream_metrics(stats)))
    return generate_latest(registry).decode()
