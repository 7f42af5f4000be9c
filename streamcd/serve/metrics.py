"""``/metrics``: the metrics file's stream metrics (streamcd/prometheus.py) plus
``streamcd_up``, ``streamcd_threshold``, ``streamcd_viewers`` and the process metrics, read from
the live reports at scrape time (nothing is updated per frame).

Example::

    registry = metrics_registry(hub)
    text = prometheus_client.generate_latest(registry)
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric

from ..prometheus import MetricsCollector, stream_metrics
from .feed import LiveHub


def hub_metrics(hub: LiveHub) -> Iterator[Metric]:
    feeds = list(hub.feeds.values())
    yield from stream_metrics([s for f in feeds if (s := f.stats()) is not None])
    up = GaugeMetricFamily("streamcd_up", "1 when the stream is healthy (as /healthz).",
                           labels=["stream"])
    threshold = GaugeMetricFamily("streamcd_threshold", "Mask threshold in use.",
                                  labels=["stream"])
    viewers = GaugeMetricFamily("streamcd_viewers", "Live-view connections.", labels=["stream"])
    for f in feeds:
        up.add_metric([f.name], float(f.status().ok))
        viewers.add_metric([f.name], float(f.watchers))
        if (t := f.threshold()) is not None:
            threshold.add_metric([f.name], t)
    yield from (up, threshold, viewers)


def metrics_registry(hub: LiveHub) -> CollectorRegistry:
    """A registry of its own (not prometheus-client's global one) with the streams and process."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(lambda: hub_metrics(hub)))
    ProcessCollector(registry=registry)
    return registry
