"""Local V4L2 cameras (``/dev/video0``), read with PyAV on a reader thread."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator

import av
import numpy as np

from ..config import WebcamSourceConfig
from ..errors import ConfigError, SourceError
from .base import CORRUPT, DISCONNECT, EventCallback, SourceStats
from .convert import to_bgr
from .live import LiveReader, LiveReaderSource

logger = logging.getLogger(__name__)


def v4l2_options(width: int | None, height: int | None, fps: float | None) -> dict[str, str]:
    """FFmpeg v4l2 demuxer options for the requested mode (empty = the camera's default)."""
    if (width is None) != (height is None):
        raise ConfigError("webcam: give both width and height, or neither")
    options = {}
    if width is not None:
        options["video_size"] = f"{width}x{height}"
    if fps is not None:
        options["framerate"] = f"{fps:g}"
    return options


class WebcamSource(LiveReaderSource):
    """A V4L2 camera; keeps the newest ``queue_size`` frames (see LiveReader).

    The device is opened here, so a missing, busy or unsupported camera fails at once with a
    SourceError. A camera that stops delivering (unplugged) emits ``disconnect`` and iteration
    raises SourceError; there is no reconnect.

    Example:
        >>> with WebcamSource("/dev/video0", width=640, height=480, fps=30) as cam:  # doctest: +SKIP
        ...     for frame in cam:
        ...         print(frame.number, frame.size)
    """

    live = True

    def __init__(
        self,
        device: str = "/dev/video0",
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        queue_size: int = 1,
        on_event: EventCallback | None = None,
    ) -> None:
        options = v4l2_options(width, height, fps)
        if not os.path.exists(device):
            raise SourceError(
                f"webcam device {device} does not exist; list cameras with `ls /dev/video*` "
                "(or `v4l2-ctl --list-devices`) and set `device`"
            )
        self.device = device
        self.stats = SourceStats()
        try:
            self._container = av.open(device, format="v4l2", options=options)
        except av.error.FFmpegError as e:
            mode = f" with {options}" if options else ""
            raise SourceError(
                f"cannot open webcam {device}{mode}: {e}; check that no other "
                "program uses it and that it supports this mode"
            ) from e
        except ValueError as e:  # PyAV: "no container format 'v4l2'" (not Linux)
            raise SourceError(
                f"cannot open webcam {device}: this FFmpeg build has no V4L2 input ({e}); "
                "webcams are read through V4L2, on Linux"
            ) from e
        try:
            if not self._container.streams.video:
                raise SourceError(f"webcam {device} has no video stream")
            rate = self._container.streams.video[0].average_rate
        except BaseException:
            self._container.close()
            raise
        self.fps: float | None = float(rate) if rate else fps
        self._reader = LiveReader(
            self._frames, queue_size, self.stats, on_event, name=f"webcam {device}"
        )

    @classmethod
    def from_config(
        cls, config: WebcamSourceConfig, on_event: EventCallback | None = None
    ) -> WebcamSource:
        return cls(
            config.device, config.width, config.height, config.fps, config.queue_size, on_event
        )

    def stop(self) -> None:
        """End iteration now, without waiting for the reader thread (``close()`` waits)."""
        super().stop()
        self._release_unread()

    def close(self) -> None:
        """Stop reading and release the camera (also when it was never iterated)."""
        super().close()
        self._release_unread()

    def _release_unread(self) -> None:
        # The reader thread closes the container when it ends; one that never started leaves
        # it to us (after stop() it can no longer start).
        if not self._reader.started:
            self._container.close()

    def _frames(
        self, stop: threading.Event, post: Callable[[str, str], None]
    ) -> Iterator[np.ndarray]:
        container = self._container
        try:
            for packet in container.demux(video=0):
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError as e:
                    self.stats.corrupt += 1
                    post(CORRUPT, f"{self.device}: undecodable frame: {e}")
                    continue
                for vf in decoded:
                    yield to_bgr(vf)
                if stop.is_set():
                    return
        except av.error.FFmpegError as e:
            post(DISCONNECT, f"{self.device}: {e}")
            raise SourceError(f"webcam {self.device} stopped delivering frames: {e}") from e
        finally:
            container.close()
        if not stop.is_set():
            post(DISCONNECT, f"{self.device}: end of stream")
            raise SourceError(f"webcam {self.device} stopped delivering frames (end of stream)")
