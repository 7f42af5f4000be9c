"""Video files and URLs decoded with PyAV: every frame, in order."""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import av

from ..config import VideoSourceConfig
from ..errors import SourceError
from ..frames import Frame
from .base import CORRUPT, ClosingMixin, EventCallback, SourceStats, emit, make_event

logger = logging.getLogger(__name__)


class VideoSource(ClosingMixin):
    """Any file or URL FFmpeg can read; yields every frame in order, never drops.

    The first frame is decoded when the source is opened, so a missing, unreadable or
    undecodable file fails here with a SourceError rather than in the middle of a run.
    A truncated file yields the frames that decode and then ends with a warning.

    Frame.number counts from 1, Frame.index from 0, Frame.timestamp is the media time
    (pts * time_base; index / fps when the container has no timestamps).

    Example:
        >>> with VideoSource("clip.mp4", max_frames=100) as source:  # doctest: +SKIP
        ...     for frame in source:
        ...         print(frame.number, frame.timestamp, frame.size)
    """

    live = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        max_frames: int | None = None,
        on_event: EventCallback | None = None,
    ) -> None:
        self.path = str(path)
        self.max_frames = max_frames
        self.stats = SourceStats()
        self._on_event = on_event
        self._consumed = False
        if "://" not in self.path and not Path(self.path).exists():
            raise SourceError(f"video file not found: {self.path}; check the source's `path`")
        try:
            self._container = av.open(self.path)
        except av.error.FFmpegError as e:
            raise SourceError(
                f"cannot open video {self.path}: {e}; is it a video FFmpeg can read, complete "
                "(an MP4 cut short loses its index) and readable?"
            ) from e
        try:
            if not self._container.streams.video:
                raise SourceError(f"{self.path} has no video stream (audio or data only?)")
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"
            rate = self._stream.average_rate or self._stream.guessed_rate
            self.fps: float | None = float(rate) if rate else None
            declared = self._stream.frames or None  # from the container; 0 when unknown
            if declared is not None and max_frames is not None:
                declared = min(declared, max_frames)
            self.frame_count: int | None = declared  # expected frames, for progress bars
            self._decoded = self._decode()
            self._first = next(self._decoded, None)
            if self._first is None:
                raise SourceError(
                    f"no frame of {self.path} could be decoded; the file is damaged or truncated "
                    "before its first frame"
                )
        except BaseException:
            self._container.close()
            raise

    @classmethod
    def from_config(
        cls, config: VideoSourceConfig, on_event: EventCallback | None = None
    ) -> VideoSource:
        return cls(config.path, max_frames=config.max_frames, on_event=on_event)

    def __iter__(self) -> Iterator[Frame]:
        if self._consumed:
            raise SourceError(f"{self.path}: a VideoSource is read once; open a new one to re-read")
        self._consumed = True
        first, self._first = self._first, None
        if first is None:  # closed before iteration
            return
        # islice stops before decoding a frame past max_frames.
        for frame in itertools.islice(_chain(first, self._decoded), self.max_frames):
            self.stats.frames += 1
            yield frame

    def close(self) -> None:
        self._first = None
        self._decoded.close()
        self._container.close()

    def _decode(self) -> Iterator[Frame]:
        """Demux and decode packet by packet, so that one bad packet costs one frame, not the rest."""
        stream, index, last_time = self._stream, 0, None
        try:
            for packet in self._container.demux(stream):
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError as e:
                    self._corrupt(f"undecodable packet after frame {index}: {e}")
                    continue
                for vf in decoded:
                    last_time = vf.time
                    timestamp = vf.time if vf.time is not None else index / (self.fps or 1.0)
                    image = vf.to_ndarray(format="bgr24")
                    yield Frame(index, index + 1, float(timestamp), image, time.monotonic())
                    index += 1
        except av.error.FFmpegError as e:
            logger.warning(
                "%s: read failed after %d frames (truncated or damaged?): %s", self.path, index, e
            )
            emit(self._on_event, make_event(CORRUPT, f"read failed after frame {index}: {e}"))
            return
        self._check_complete(index, last_time)

    def _corrupt(self, detail: str) -> None:
        self.stats.corrupt += 1
        logger.warning("%s: %s", self.path, detail)
        emit(self._on_event, make_event(CORRUPT, detail))

    def _check_complete(self, count: int, last_time: float | None) -> None:
        """Warn when fewer frames decoded than the container promises (a truncated file)."""
        declared = self._stream.frames
        duration = self._container.duration  # microseconds, None when unknown
        if declared and count < declared:
            logger.warning(
                "%s ended after %d of %d frames; the file is probably truncated",
                self.path,
                count,
                declared,
            )
        elif duration and last_time is not None and self.fps:
            start = (self._container.start_time or 0) / 1e6
            missing = start + duration / 1e6 - (last_time + 1 / self.fps)
            if missing > max(2 / self.fps, 0.05 * duration / 1e6):
                logger.warning(
                    "%s ended %.2f s before its declared duration; the file is probably truncated",
                    self.path,
                    missing,
                )


def _chain(first: Frame, rest: Iterator[Frame]) -> Iterator[Frame]:
    yield first
    yield from rest
