"""The Sink plug point: anything that consumes Results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..frames import Result, StreamEvent

if TYPE_CHECKING:
    from typing import Self


@runtime_checkable
class Sink(Protocol):
    """Consumes one stream's results in frame order.

    Constructed with its config and the source's nominal fps; it checks that it can write at
    construction (creating nothing), creates its folders and files with the first result or
    event (encoders need the frame size anyway) and finalises everything in ``close()``, which
    is safe to call twice. Outputs are never half-written: files appear under their final name
    only when complete, and a stream that yields nothing leaves no empty file or folder.
    """

    def write(self, result: Result) -> None: ...

    def event(self, event: StreamEvent) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
