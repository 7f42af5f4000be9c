"""The Source plug point: anything that yields Frames."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..frames import Frame, StreamEvent

EventCallback = Callable[[StreamEvent], None]


@dataclass
class SourceStats:
    """Counters a source keeps while it runs (read by the pipeline's stats line)."""

    frames: int = 0
    dropped: int = 0
    corrupt: int = 0
    reconnects: int = 0


@runtime_checkable
class Source(Protocol):
    """A stream of frames.

    File-like sources (``live = False``) yield every frame in order and never drop.
    Live sources read on their own thread, keep only the newest frames and count drops.
    Iteration ends at end of stream (files) or when ``close()`` is called (live).
    """

    live: bool
    fps: float | None  # nominal frame rate, None when unknown
    stats: SourceStats

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Source: ...

    def __exit__(self, *exc: object) -> None: ...
