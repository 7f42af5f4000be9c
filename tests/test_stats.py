"""StreamMeter's rolling window, the stats line and the metrics file formats (no server)."""

from __future__ import annotations

import json
import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streamcd.config import MetricsConfig
from streamcd.errors import SinkError
from streamcd.pipeline import StreamReport
from streamcd.stats import MetricsWriter, StreamMeter, StreamStats


def fed_meter(samples: list[tuple[float, float, int]], window_s: float = 10.0) -> StreamMeter:
    """A meter fed (arrival, done, frames_in) samples."""
    meter = StreamMeter(window_s)
    for arrival, done, frames_in in samples:
        meter.record(arrival, frames_in, done)
    return meter


@pytest.mark.parametrize(
    ("samples", "now", "fps_in", "fps_out", "latencies_ms"),
    [
        ([], 100.0, 0.0, 0.0, []),  # nothing yet
        # 25 fps in, every other frame processed (drops), 30 ms latency each
        ([(100 + i * 0.08 - 0.03, 100 + i * 0.08, 2 * i + 2) for i in range(51)], 104.0,
         25.0, 12.5, [30.0] * 51),
        # samples older than the window are forgotten
        ([(1.0, 1.5, 1), (99.9, 100.0, 30), (100.9, 101.0, 55)], 101.0, 25.0, 1.0, [100, 100]),
        # arrival 0 = unknown: counted, but no latency
        ([(0.0, 100.0, 1), (0.0, 101.0, 2)], 101.0, 1.0, 1.0, []),
    ],
)
def test_meter_window(samples, now, fps_in, fps_out, latencies_ms):
    got_in, got_out, latencies = fed_meter(samples).window(now)
    assert got_in == pytest.approx(fps_in) and got_out == pytest.approx(fps_out)
    assert latencies * 1000 == pytest.approx(latencies_ms)


def report_with(latencies_ms: list[float]) -> StreamReport:
    report = StreamReport("cam1", frames=len(latencies_ms), dropped=3, reconnects=1, live=True)
    for i, ms in enumerate(latencies_ms):
        report.meter.record(1000.0 + i * 0.04, i + 1, 1000.0 + i * 0.04 + ms / 1000)
    return report


def test_stats_line_and_percentiles():
    stats = StreamStats.of(report_with([10.0] * 99 + [500.0]), now=1004.5)
    assert stats.latency_p50_ms == pytest.approx(10.0)
    assert 10.0 < stats.latency_p99_ms < 500.0 and stats.latency_max_ms == pytest.approx(500)
    assert stats.line().startswith("cam1: 100 frames, in 2")
    assert "dropped 3, reconnects 1, latency p50 10 ms p99 " in stats.line()
    assert "latency n/a" in StreamStats.of(StreamReport("idle")).line()


@pytest.mark.parametrize("suffix", [".json", ".prom"])
def test_metrics_file(tmp_path, suffix):
    path = tmp_path / "sub" / f"metrics{suffix}"
    writer = MetricsWriter(MetricsConfig(path=path, every_s=60))
    writer.tick([report_with([20.0] * 10)])  # not due yet
    assert not path.exists()
    writer.write([report_with([20.0] * 10), StreamReport("b", error="boom")])
    text = path.read_text()
    if suffix == ".json":
        streams = json.loads(text)["streams"]
        assert streams["cam1"]["frames"] == 10 and streams["cam1"]["reconnects"] == 1
        assert streams["b"]["error"] == "boom" and streams["b"]["latency_p99_ms"] is None
    else:
        samples = {(s.name, *sorted(s.labels.values())): s.value
                   for f in text_string_to_metric_families(text) for s in f.samples}
        assert samples[("streamcd_reconnects_total", "cam1")] == 1
        assert samples[("streamcd_failed", "b")] == 1 and samples[("streamcd_failed", "cam1")] == 0
        assert math.isnan(samples[("streamcd_latency_seconds", "0.99", "b")])
    assert list(path.parent.iterdir()) == [path]  # atomically replaced, no temporary left


def test_metrics_folder_must_be_writable(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(SinkError, match="metrics file: cannot write to folder"):
        MetricsWriter(MetricsConfig(path=tmp_path / "file" / "m.json"))
