"""Hardware decode (``hwaccel: cuda``): the software fall back here, NVDEC itself on a GPU machine."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from streamcd.config import PipelineConfig
from streamcd.errors import ConfigError
from streamcd.sources import open_source
from streamcd.sources.hwdecode import HwDecoder, hwaccel_unavailable
from streamcd.sources.rtsp import RtspSource
from streamcd.sources.video import VideoSource

CUDA_DECODE = hwaccel_unavailable("cuda") is None
NO_NVDEC = "a CUDA decoder works here (NVIDIA GPU and driver): the fall back is not reachable"


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "streamcd.sources.hwdecode" and r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("device_type", "reason"),
    [
        ("nosuchdevice", "this FFmpeg build has no 'nosuchdevice' device (has: "),
        ("cuda", None if CUDA_DECODE else "no usable cuda device"),
    ],
)
def test_probe_says_why_a_device_cannot_decode(device_type, reason):
    got = hwaccel_unavailable(device_type)
    assert got is None if reason is None else reason in got
    assert hwaccel_unavailable(device_type) == got  # probed once, remembered


@pytest.mark.skipif(CUDA_DECODE, reason=NO_NVDEC)
def test_video_falls_back_to_software_with_one_warning(square_clip, caplog):
    path, _, _ = square_clip
    with VideoSource(path) as plain:
        want = [f.image for f in plain]
    caplog.set_level(logging.INFO)
    with VideoSource(path, hwaccel="cuda") as source:
        got = [f.image for f in source]
        assert source.decoder.active is False
    assert len(got) == len(want) == 40
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    [warning] = _warnings(caplog)
    assert "hwaccel cuda unavailable, decoding in software: no usable cuda device" in warning
    assert str(path) in warning


@pytest.mark.skipif(CUDA_DECODE, reason=NO_NVDEC)
def test_one_warning_per_source_however_often_it_reopens(square_clip, caplog):
    path, _, _ = square_clip
    decoder = HwDecoder("cuda", "cam1")
    for _ in range(3):  # an RTSP source reopens its container on every reconnect
        with decoder.open(str(path)) as container:
            assert container.streams.video
    assert len(_warnings(caplog)) == 1 and decoder.active is False


def test_no_hwaccel_no_probe_no_warning(square_clip, caplog):
    path, _, _ = square_clip
    decoder = HwDecoder(None, "cam1")
    with decoder.open(str(path)):
        pass
    assert _warnings(caplog) == [] and decoder.active is False


def test_config_carries_hwaccel_to_the_sources(tmp_path, square_clip):
    path, _, _ = square_clip
    yaml = tmp_path / "p.yaml"
    yaml.write_text(
        "streams:\n"
        f"  - {{name: a, source: {{type: video, path: {path}, hwaccel: cuda}}}}\n"
        "  - {name: b, source: {type: rtsp, url: 'rtsp://127.0.0.1:9/x', hwaccel: cuda}}\n"
    )
    video, rtsp = (s.source for s in PipelineConfig.from_yaml(yaml).streams)
    with open_source(video) as source:
        assert source.decoder.device_type == "cuda"
    assert RtspSource.from_config(rtsp).decoder.device_type == "cuda"


def test_unknown_hwaccel_is_a_config_error(tmp_path):
    yaml = tmp_path / "p.yaml"
    yaml.write_text("streams:\n  - {name: a, source: {type: video, path: x.mp4, hwaccel: nvdec}}\n")
    with pytest.raises(ConfigError, match=r"streams\[0\].source.hwaccel \(line 2\): Input should be 'cuda' or 'vaapi'"):
        PipelineConfig.from_yaml(yaml)


@pytest.mark.skipif(CUDA_DECODE, reason=NO_NVDEC)
def test_rtsp_falls_back_to_software(rtsp_server, caplog):
    with RtspSource(rtsp_server.url, read_timeout_s=3, hwaccel="cuda") as source:
        frames = []
        for frame in source:
            frames.append(frame)
            if len(frames) == 3:
                break
    assert [f.size for f in frames] == [(160, 120)] * 3
    assert len(_warnings(caplog)) == 1


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA_DECODE, reason="needs an NVIDIA GPU with NVDEC and its driver")
def test_nvdec_decodes_like_software(square_clip):
    path, _, _ = square_clip
    with VideoSource(path) as plain:
        want = [f.image for f in plain]
    with VideoSource(path, hwaccel="cuda") as source:
        got = [f.image for f in source]
        assert source.decoder.active
    assert len(got) == len(want)
    # NVDEC and FFmpeg's decoder may differ by rounding in the colour conversion
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(got, want)) <= 2
