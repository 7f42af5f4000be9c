"""WebcamSource: clear errors without a camera, and the V4L2 options it asks for."""

from __future__ import annotations

import pytest

from streamcd.errors import ConfigError, SourceError
from streamcd.sources import WebcamSource
from streamcd.sources.webcam import v4l2_options


def test_missing_device_is_a_clear_error():
    with pytest.raises(SourceError, match=r"/dev/video-streamcd-missing does not exist"):
        WebcamSource("/dev/video-streamcd-missing")


def test_a_file_that_is_not_a_camera(tmp_path):
    fake = tmp_path / "video0"
    fake.write_bytes(b"x")
    with pytest.raises(SourceError, match="cannot open webcam"):
        WebcamSource(str(fake))


@pytest.mark.parametrize(
    "width, height, fps, expected",
    [
        (None, None, None, {}),  # the camera's default mode
        (640, 480, None, {"video_size": "640x480"}),
        (1280, 720, 30.0, {"video_size": "1280x720", "framerate": "30"}),
        (None, None, 7.5, {"framerate": "7.5"}),
    ],
)
def test_v4l2_options(width, height, fps, expected):
    assert v4l2_options(width, height, fps) == expected


def test_width_without_height_is_a_config_error():
    with pytest.raises(ConfigError, match="both width and height"):
        v4l2_options(640, None, None)
