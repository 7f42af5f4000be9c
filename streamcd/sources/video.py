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
from .convert import to_bgr
from .hwdecode import HwDecoder

logger = logging.getLogger(__name__)


class VideoSource(ClosingMixin):
    """Any file or URL FFmpeg can read; yields every frame in order, never drops.

    The first frame is decoded when the source is opened, so a missing, unreadable or
    undecodable file fails here with a SourceError rather than in the middle of a run.
    A truncated or damaged file yields every frame that decodes, then iteration raises a
    SourceError naming the file and the last frame read, so that a run over it does not end
    as a success (a single undecodable packet in the middle is skipped and counted instead).

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
        hwaccel: str | None = None,
    ) -> None:
        self.path = str(path)
        self.max_frames = max_frames
        self.stats = SourceStats()
        self._on_event = on_event
        self._consumed = False
        # What demuxing found, for _check_complete: packets, the media time the last one ends,
        # whether the last one was cut short (see _packets).
        self._packets_read = 0
        self._packets_end: float | None = None
        self._cut_packet = False
        if "://" not in self.path and not Path(self.path).exists():
            raise SourceError(f"video file not found: {self.path}; check the source's `path`")
        self.decoder = HwDecoder(hwaccel, self.path)  # hwaccel: cuda = NVDEC, else software
        try:
            self._container = self.decoder.open(self.path)
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
        return cls(config.path, max_frames=config.max_frames, on_event=on_event,
                   hwaccel=config.hwaccel)

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
        index = 0
        try:
            for packet in self._packets():
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError as e:
                    self._corrupt(f"undecodable packet after frame {index}: {e}")
                    continue
                for vf in decoded:
                    timestamp = vf.time if vf.time is not None else index / (self.fps or 1.0)
                    image = to_bgr(vf)
                    yield Frame(index, index + 1, float(timestamp), image, time.monotonic())
                    index += 1
        except av.error.FFmpegError as e:
            raise SourceError(
                f"{self.path}: reading stopped after frame {index}: {e}; {self._cut_short}"
            ) from e
        self._check_complete(index)

    def _packets(self) -> Iterator[av.Packet]:
        """The stream's packets, but for a corrupt last one (a file cut inside it), which is only
        recorded in ``_cut_packet``: decoding it fails and, with frame threads, takes the frames
        still inside the decoder with it. A corrupt packet with more after it is decoded as usual."""
        held: av.Packet | None = None
        for packet in self._container.demux(self._stream):
            if packet.size or packet.dts is not None:  # not the empty flush packet at the end
                self._packets_read += 1
                if packet.pts is not None:
                    end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    self._packets_end = max(end, self._packets_end or end)
            if held is not None and packet.size:  # not the last one after all
                yield held
                held = None
            if packet.size and packet.is_corrupt:
                held = packet
                continue
            yield packet
        self._cut_packet = held is not None

    def _corrupt(self, detail: str) -> None:
        self.stats.corrupt += 1
        logger.warning("%s: %s", self.path, detail)
        emit(self._on_event, make_event(CORRUPT, detail))

    @property
    def _cut_short(self) -> str:
        if "://" in self.path:
            return "the stream ended early or its connection broke"
        return "the file is truncated or damaged (the frames before were read)"

    def _check_complete(self, frames: int) -> None:
        """SourceError when the file ends before the end its container declares: fewer packets
        than its frame count (MP4), packets ending early (MKV) or a last packet cut short.

        Decoded frames are not compared (a decoder may drop some: edit lists, open GOPs), and
        formats that declare neither (MPEG-TS) can only tell by a cut packet.
        """
        if frames == 0:
            return  # __init__ reports a file with no decodable frame
        declared = self._stream.frames
        short = bool(declared) and self._packets_read < declared
        if short or self._cut_packet:
            of = f" of the {declared} it declares" if short else ""
            why = " (its last packet is incomplete)" if self._cut_packet else ""
            raise SourceError(
                f"{self.path}: decoding stopped after frame {frames}{of}{why}; {self._cut_short}"
            )
        declared_end, read_end = self._declared_end(), self._packets_end
        if declared_end is None or read_end is None:
            return
        missing = declared_end - read_end
        # Tolerance: rounding, and other streams (audio) that the container's end may include.
        if missing > max(2 / (self.fps or 25.0), 0.05 * declared_end):
            raise SourceError(
                f"{self.path}: decoding stopped after frame {frames} (at {read_end:.2f} s), "
                f"{missing:.2f} s before the end it declares; {self._cut_short}"
            )

    def _declared_end(self) -> float | None:
        """Media time where the video stream ends, as declared (else the container's end)."""
        stream, container = self._stream, self._container
        if stream.duration and stream.time_base:
            return float(((stream.start_time or 0) + stream.duration) * stream.time_base)
        if container.duration:
            return ((container.start_time or 0) + container.duration) / 1e6
        return None


def _chain(first: Frame, rest: Iterator[Frame]) -> Iterator[Frame]:
    yield first
    yield from rest
