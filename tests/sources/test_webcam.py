"""WebcamSource: clear errors without a camera, and the V4L2 options it asks for."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from streamcd.errors import ConfigError, SourceError
from streamcd.sources import WebcamSource, webcam
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


class FakeV4l2:
    """Stands in for the V4L2 container PyAV opens (no camera here): counts ``close()`` calls."""

    def __init__(self) -> None:
        self.streams = SimpleNamespace(video=[SimpleNamespace(average_rate=30)])
        self.closed = 0

    def close(self) -> None:
        self.closed += 1

    def demux(self, video: int = 0):
        return iter(())  # the camera delivers nothing: end of stream


@pytest.fixture
def fake_camera(tmp_path, monkeypatch) -> tuple[str, FakeV4l2]:
    """A device path that exists and the fake container ``av.open`` returns for it."""
    device = tmp_path / "video0"
    device.write_bytes(b"")
    container = FakeV4l2()
    monkeypatch.setattr(webcam.av, "open", lambda *args, **kwargs: container)
    return str(device), container


@pytest.mark.parametrize(
    "finish",
    [
        lambda cam: cam.close(),  # closed without ever iterating (once left to the GC)
        lambda cam: cam.__exit__(None, None, None),  # a `with` block that never iterated
        lambda cam: (cam.stop(), cam.close()),  # Ctrl-C path: stop at once, then close
    ],
    ids=["close", "with", "stop-then-close"],
)
def test_close_without_iterating_releases_the_camera(fake_camera, finish):
    device, container = fake_camera
    cam = WebcamSource(device)
    assert container.closed == 0
    finish(cam)
    assert container.closed >= 1
    assert list(cam) == []  # closed: iteration ends at once, no reader thread starts


def test_reader_thread_closes_the_camera_at_end_of_stream(fake_camera):
    device, container = fake_camera
    with WebcamSource(device) as cam, pytest.raises(SourceError, match="stopped delivering"):
        list(cam)
    assert container.closed >= 1
