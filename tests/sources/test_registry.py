"""open_source: one table from config type to Source class."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from streamcd.config import (
    CdnetSourceConfig,
    ImagesSourceConfig,
    RtspSourceConfig,
    VideoSourceConfig,
    WebcamSourceConfig,
)
from streamcd.errors import ConfigError, SourceError
from streamcd.sources import (
    SOURCES,
    CdnetSource,
    ImagesSource,
    RtspSource,
    Source,
    VideoSource,
    open_source,
)


def test_every_config_type_has_a_source():
    types = {
        c.model_fields["type"].default
        for c in (
            VideoSourceConfig,
            CdnetSourceConfig,
            ImagesSourceConfig,
            RtspSourceConfig,
            WebcamSourceConfig,
        )
    }
    assert set(SOURCES) == types


@pytest.mark.parametrize(
    "make_config, cls",
    [
        (lambda p: VideoSourceConfig(path=str(p["clip"]), max_frames=3), VideoSource),
        (lambda p: CdnetSourceConfig(path=p["cdnet"]), CdnetSource),
        (lambda p: ImagesSourceConfig(pattern=str(p["cdnet"] / "input" / "*.jpg")), ImagesSource),
        (lambda p: RtspSourceConfig(url="rtsp://127.0.0.1:9/none"), RtspSource),  # lazy connect
    ],
    ids=["video", "cdnet", "images", "rtsp"],
)
def test_open_source_builds_the_configured_class(tmp_path, square_clip, highway, make_config, cls):
    cdnet = tmp_path / "highway"
    (cdnet / "input").mkdir(parents=True)
    (cdnet / "input" / "in000001.jpg").write_bytes(
        (highway / "input" / "in000001.jpg").read_bytes()
    )
    config = make_config({"clip": square_clip[0], "cdnet": cdnet})
    with open_source(config, on_event=print) as source:
        assert type(source) is cls and isinstance(source, Source)
        assert source.live is (cls is RtspSource)


def test_open_source_passes_errors_through():
    with pytest.raises(SourceError, match="does not exist"):
        open_source(WebcamSourceConfig(device="/dev/video-streamcd-missing"))


def test_unknown_type_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="valid: cdnet, images, rtsp, video, webcam"):
        open_source(SimpleNamespace(type="kinect"))
