"""Values that cross module borders: frames in, results out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    index: 0-based position in the stream as read (after drops, gaps are possible for live sources).
    number: the source's own frame number, used to name outputs (CDnet ``in000470`` -> 470;
        video files count from 1).
    timestamp: seconds; media time for files, wall-clock (``time.time()``) for live sources.
    image: HxWx3 uint8 BGR (OpenCV order).
    arrival: ``time.monotonic()`` when the frame was read, for latency statistics.
    """

    index: int
    number: int
    timestamp: float
    image: np.ndarray = field(repr=False)
    arrival: float = 0.0

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True)
class Box:
    """Axis-aligned bounding box of one foreground blob, pixel coordinates (x, y, w, h)."""

    x: int
    y: int
    w: int
    h: int
    area: int


@dataclass(frozen=True)
class Result:
    """Everything the pipeline knows about one frame after change detection.

    mask: HxW uint8, 255 = foreground (changed), 0 = background; same size as the frame.
    distance: HxW float32 change score (feature distance), or None when not kept.
    """

    frame: Frame
    mask: np.ndarray = field(repr=False)
    boxes: tuple[Box, ...] = ()
    foreground_fraction: float = 0.0
    distance: np.ndarray | None = field(default=None, repr=False)
    stream: str = ""


@dataclass(frozen=True)
class StreamEvent:
    """Something that happened to a stream (not a frame): disconnect, reconnect, background re-init."""

    kind: str
    stream: str
    timestamp: float
    detail: str = ""

    def named(self, stream: str) -> StreamEvent:
        """This event attributed to ``stream`` (sources leave ``stream`` empty); kept if already set."""
        return self if self.stream else replace(self, stream=stream)
