"""A CDnet 2014 video folder read as a stream (``input/in%06d.jpg``)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Literal

from ..cdnet_layout import CdnetVideo
from ..config import CdnetSourceConfig
from ..errors import DatasetError, SourceError
from ..frames import Frame
from .base import ClosingMixin, EventCallback, SourceStats
from .imagefile import CorruptPolicy


class CdnetSource(ClosingMixin):
    """The frames of one CDnet video folder, in order, numbered as their files.

    Frame.number is the file number (``in000470.jpg`` -> 470), so outputs pair with the
    groundtruth; Frame.index counts the frames yielded, from 0. With ``temporal_roi_only``
    only the scored frames (temporalROI.txt) are read. CDnet records no frame rate: ``fps``
    is the nominal 25 (also what the sinks assume) and ``timestamp = (number - 1) / 25``.

    Example:
        >>> with CdnetSource("cdnet2014/baseline/highway", temporal_roi_only=True) as src:  # doctest: +SKIP
        ...     for frame in src:
        ...         print(frame.number)  # 470, 471, ... 1700
    """

    live = False
    NOMINAL_FPS = 25.0

    def __init__(
        self,
        path: str | os.PathLike[str],
        temporal_roi_only: bool = False,
        on_corrupt: Literal["skip", "stop"] = "skip",
        on_event: EventCallback | None = None,
    ) -> None:
        try:
            self.video = CdnetVideo.open(path)
        except DatasetError as e:
            raise SourceError(f"cannot open CDnet source: {e}") from e
        self.temporal_roi_only = temporal_roi_only
        self.fps: float | None = self.NOMINAL_FPS
        self.stats = SourceStats()
        self._policy = CorruptPolicy(on_corrupt, self.stats, on_event)
        self._closed = False

    @classmethod
    def from_config(
        cls, config: CdnetSourceConfig, on_event: EventCallback | None = None
    ) -> CdnetSource:
        return cls(config.path, config.temporal_roi_only, config.on_corrupt, on_event)

    @property
    def frame_count(self) -> int:
        """Frames this source will read (fewer if some are corrupt and skipped)."""
        return len(self.numbers)

    @property
    def numbers(self) -> range:
        """The file numbers this source reads."""
        if self.temporal_roi_only:
            return range(self.video.first, self.video.last + 1)
        return range(1, self.video.count + 1)

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        for number in self.numbers:
            if self._closed:
                return
            image = self._policy.read(self.video.input_path(number))
            if image is None:
                continue
            timestamp = (number - 1) / self.NOMINAL_FPS
            self.stats.frames += 1
            yield Frame(index, number, timestamp, image, time.monotonic())
            index += 1

    def close(self) -> None:
        self._closed = True
