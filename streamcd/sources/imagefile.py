"""Sources made of still images, one file per frame: decoding a file as a BGR frame, the
skip/stop policy for corrupt files, and the iteration the CDnet and image-sequence sources share."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ConfigError, SourceError
from ..frames import Frame
from .base import CORRUPT, ClosingMixin, EventCallback, SourceStats, emit, make_event

logger = logging.getLogger(__name__)

_JPEG_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif"}


def decode_image(path: Path) -> tuple[np.ndarray | None, str]:
    """(HxWx3 uint8 BGR image, "") or (None, why it is unusable).

    Greyscale, 16-bit and alpha images are converted to 8-bit BGR. A JPEG without its end
    marker is refused: OpenCV would decode it with the missing part grey, which a change
    detector reads as a large change.
    """
    import cv2

    try:
        data = path.read_bytes()
    except OSError as e:
        return None, f"cannot be read ({e.strerror or e})"
    if not data:
        return None, "is empty"
    # Inside JPEG entropy-coded data 0xFF is always stuffed, so FFD9 near the end is the real EOI.
    if path.suffix.lower() in _JPEG_SUFFIXES and b"\xff\xd9" not in data[-32:]:
        return None, "is a truncated JPEG (no end-of-image marker)"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None, "cannot be decoded as an image"
    return image, ""


@dataclass
class CorruptPolicy:
    """Applies ``on_corrupt`` of an image-sequence source: skip (count, log, emit) or stop."""

    on_corrupt: Literal["skip", "stop"]
    stats: SourceStats
    on_event: EventCallback | None = None

    def __post_init__(self) -> None:
        if self.on_corrupt not in ("skip", "stop"):
            raise ConfigError(f"on_corrupt must be 'skip' or 'stop', got {self.on_corrupt!r}")

    def read(self, path: Path) -> np.ndarray | None:
        """The image, or None when it is corrupt and skipped; SourceError when policy is stop."""
        image, why = decode_image(path)
        if image is not None:
            return image
        if self.on_corrupt == "stop":
            raise SourceError(f"{path} {why}; replace or delete it, or set on_corrupt: skip")
        self.stats.corrupt += 1
        logger.warning("skipping %s: it %s", path, why)
        emit(self.on_event, make_event(CORRUPT, f"{path} {why}"))
        return None


class ImageFilesSource(ClosingMixin):
    """Base of the sources that read one image file per frame (CDnet folders, image sequences).

    A subclass calls ``super().__init__(on_corrupt, on_event)`` and lists its files in
    ``files()``; this class yields them as Frames in that order (Frame.index counts the frames
    yielded), applies ``on_corrupt`` to files that do not decode, and ends iteration on close.
    """

    live = False

    def __init__(
        self, on_corrupt: Literal["skip", "stop"] = "skip", on_event: EventCallback | None = None
    ) -> None:
        self.stats = SourceStats()
        self._policy = CorruptPolicy(on_corrupt, self.stats, on_event)
        self._closed = False

    def files(self) -> Iterator[tuple[Path, int, float]]:
        """(path, Frame.number, Frame.timestamp) of every file to read, in order."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        for path, number, timestamp in self.files():
            if self._closed:
                return
            image = self._policy.read(path)
            if image is None:
                continue
            self.stats.frames += 1
            yield Frame(index, number, timestamp, image, time.monotonic())
            index += 1

    def close(self) -> None:
        self._closed = True
