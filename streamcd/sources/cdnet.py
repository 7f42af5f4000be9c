"""A CDnet 2014 video folder read as a stream (``input/in%06d.jpg``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from ..cdnet_layout import CdnetVideo
from ..config import CdnetSourceConfig
from ..errors import DatasetError, SourceError
from .base import EventCallback
from .imagefile import ImageFilesSource


class CdnetSource(ImageFilesSource):
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
        super().__init__(on_corrupt, on_event)
        self.temporal_roi_only = temporal_roi_only
        self.fps: float | None = self.NOMINAL_FPS

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

    def files(self) -> Iterator[tuple[Path, int, float]]:
        for number in self.numbers:
            yield self.video.input_path(number), number, (number - 1) / self.NOMINAL_FPS
