"""``/metrics``: every stream's stats as Prometheus metrics, labelled ``stream``, via prometheus-client.

The names are those of the ``*.prom`` metrics file (stats.py) plus ``streamcd_up``,
``streamcd_threshold`` and ``streamcd_viewers``; values are read from the live reports at
scrape time, so nothing is updated per frame.

Example::

    registry = metrics_registry(hub)
    text = prometheus_client.generate_latest(registry)
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..stats import WINDOW_S
from .feed import LiveHub

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


class StreamsCollector(Collector):
    """prometheus-client collector reading a :class:`LiveHub` at each scrape."""

    def __init__(self, hub: LiveHub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        feeds = list(self.hub.feeds.values())
        stats = {f.name: s for f in feeds if (s := f.stats()) is not None}
        for name, help_, attr in _COUNTERS:
            family = CounterMetricFamily(name, help_, labels=["stream"])
            for stream, s in stats.items():
                family.add_metric([stream], float(getattr(s, attr)))
            yield family
        for name, help_, attr in _GAUGES:
            family = GaugeMetricFamily(name, help_, labels=["stream"])
            for stream, s in stats.items():
                value = getattr(s, attr)
                family.add_metric([stream], float(value is not None) if attr == "error"
                                  else float(value))
            yield family
        latency = GaugeMetricFamily("streamcd_latency_seconds",
                                    f"Frame arrival to sinks, last {WINDOW_S:g} s.",
                                    labels=["stream", "quantile"])
        for stream, s in stats.items():
            for q, ms in (("0.5", s.latency_p50_ms), ("0.99", s.latency_p99_ms)):
                latency.add_metric([stream, q], float("nan") if ms is None else ms / 1000)
        yield latency
        up = GaugeMetricFamily("streamcd_up", "1 when the stream is healthy (as /healthz).",
                               labels=["stream"])
        threshold = GaugeMetricFamily("streamcd_threshold", "Mask threshold in use.",
                                      labels=["stream"])
        viewers = GaugeMetricFamily("streamcd_viewers", "Live-view connections.",
                                    labels=["stream"])
        for f in feeds:
            up.add_metric([f.name], float(f.status().ok))
            viewers.add_metric([f.name], float(f.watchers))
            if (t := f.threshold()) is not None:
                threshold.add_metric([f.name], t)
        yield from (up, threshold, viewers)


def metrics_registry(hub: LiveHub) -> CollectorRegistry:
    """A registry of its own (not prometheus-client's global one) with the streams and process."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StreamsCollector(hub))
    ProcessCollector(registry=registry)
    return registry
