"""The Source plug point: anything that yields Frames."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..frames import Frame, StreamEvent

if TYPE_CHECKING:
    from typing import Self

logger = logging.getLogger(__name__)

EventCallback = Callable[[StreamEvent], None]

# StreamEvent kinds a source emits (``StreamEvent.stream`` is left "" for the pipeline to fill in).
DISCONNECT = "disconnect"  # a live connection ended: error, read timeout, end of stream
RECONNECT = "reconnect"  # a live connection was opened again after a disconnect
GAP = "gap"  # first frame after an outage; detail says how long no frames came
CORRUPT = "corrupt"  # a frame or file could not be decoded and was skipped


@dataclass
class SourceStats:
    """Counters a source keeps while it runs (read by the pipeline's stats line)."""

    frames: int = 0  # frames handed to the consumer
    dropped: int = 0  # live sources: frames discarded because the consumer was slower
    corrupt: int = 0  # undecodable frames or files skipped
    reconnects: int = 0  # successful reconnects after a disconnect


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

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


def make_event(kind: str, detail: str = "") -> StreamEvent:
    """A StreamEvent stamped with the wall clock; the pipeline sets ``stream``."""
    return StreamEvent(kind=kind, stream="", timestamp=time.time(), detail=detail)


def emit(on_event: EventCallback | None, event: StreamEvent) -> None:
    """Call the event callback; a failing callback is logged and does not stop the source."""
    if on_event is None:
        return
    try:
        on_event(event)
    except Exception:
        logger.exception("on_event callback failed for %s event", event.kind)


class ClosingMixin:
    """``with source:`` support for classes that define ``close()``."""

    def close(self) -> None:  # pragma: no cover - every source defines its own
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
