"""An image sequence given by a glob pattern, in natural sort order."""

from __future__ import annotations

import glob
import itertools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from ..config import ImagesSourceConfig
from ..errors import ConfigError, SourceError
from .base import EventCallback
from .imagefile import ImageFilesSource

_DIGITS = re.compile(r"(\d+)")
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def natural_key(path: str) -> tuple:
    """Sort key that orders digit runs by value: ``frame_2`` before ``frame_10``."""
    # split() with a group alternates text, number, text, ...: odd positions are digit runs.
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(path)))


def frame_numbers(paths: Sequence[str]) -> list[int]:
    """The trailing number of each file name when every name has one and they increase
    (``frame_75.jpg`` -> 75, so outputs pair with groundtruth named by number); otherwise
    the position from 1."""
    found = [_TRAILING_NUMBER.search(Path(p).stem) for p in paths]
    if all(found):
        numbers = [int(m.group(1)) for m in found]
        if all(a < b for a, b in itertools.pairwise(numbers)):
            return numbers
    return list(range(1, len(paths) + 1))


class ImagesSource(ImageFilesSource):
    """Still images matched by a glob pattern (``**`` recurses), read in natural order.

    Frame.number is the trailing number of the file name when every file has one and they
    increase in sort order (see ``frame_numbers``), else the position from 1. Frame.index counts
    the frames yielded; Frame.timestamp is position / fps. Greyscale images become BGR.

    Example:
        >>> with ImagesSource("ucsd/rain_/rain/in/frame_*.jpg") as source:  # doctest: +SKIP
        ...     numbers = [frame.number for frame in source]  # 75 .. 88
    """

    def __init__(
        self,
        pattern: str,
        fps: float = 25.0,
        on_corrupt: Literal["skip", "stop"] = "skip",
        on_event: EventCallback | None = None,
    ) -> None:
        if fps <= 0:
            raise ConfigError(f"images source: fps must be > 0, got {fps}")
        self.pattern = pattern
        self.paths = sorted(
            (p for p in glob.glob(pattern, recursive=True) if Path(p).is_file()), key=natural_key
        )
        if not self.paths:
            raise SourceError(f"no files match the images pattern {pattern!r}; check `pattern`")
        super().__init__(on_corrupt, on_event)
        self.numbers = frame_numbers(self.paths)
        self.fps: float | None = float(fps)

    @classmethod
    def from_config(
        cls, config: ImagesSourceConfig, on_event: EventCallback | None = None
    ) -> ImagesSource:
        return cls(config.pattern, config.fps, config.on_corrupt, on_event)

    @property
    def frame_count(self) -> int:
        """Files matched (frames read, unless some are corrupt and skipped)."""
        return len(self.paths)

    def files(self) -> Iterator[tuple[Path, int, float]]:
        for position, (path, number) in enumerate(zip(self.paths, self.numbers)):
            yield Path(path), number, position / self.fps
