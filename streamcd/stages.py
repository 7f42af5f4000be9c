"""Stage threads for one stream: read ahead of the model, write behind it.

A file source decodes, the model infers and the sinks encode; run on one thread their times add
up. :class:`ReadAhead` decodes on its own thread and :class:`WriteBehind` delivers results to
the sinks on another, each through a small bounded queue, so a stream runs at about the speed
of its slowest stage (ONNX Runtime, OpenCV and PyAV release the GIL while they work).

Both keep the order, stop on a sentinel, join their thread when closed and re-raise a stage's
exception on the stream's thread. Usage::

    with ReadAhead(source) as frames, WriteBehind(deliver) as out:
        for frame in frames:
            out.put(process(frame))   # deliver(item) runs on the writer thread, in order
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Frames decoded ahead of the model, and results waiting for the sinks before the model thread
#: blocks: a few, to absorb jitter. Memory per stream is about (4 + 4) frames (+ masks).
READ_AHEAD = 4
WRITE_BEHIND = 4
_POLL_S = 0.1  # how often a blocked put/get looks at the stop flag

_END = object()


@dataclass(frozen=True)
class _Failure:
    error: BaseException


@dataclass(frozen=True)
class _Call:
    """A callback relayed from the reader thread, run on the consumer's thread in order."""

    fn: Callable[..., Any]
    args: tuple


class ReadAhead(Generic[T]):
    """Iterates ``items`` (a file source) on its own thread, up to ``depth`` items ahead.

    :meth:`relay` wraps a source's event callback so that events raised while reading reach
    the consumer's thread, in order with the frames (as live sources' readers do). Closing
    stops the reader and joins it; close it before the source it reads.
    """

    def __init__(self, items: Iterable[T] | None = None, depth: int = READ_AHEAD, name: str = "read-ahead"):
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._name = name
        self._reader: threading.Thread | None = None  # kept after close, for relay()
        self._thread: threading.Thread | None = None

    def relay(self, callback: Callable[..., Any]) -> Callable[..., None]:
        """``callback`` made safe to call from the reader thread (queued, run by the consumer)."""

        def relayed(*args: Any) -> None:
            if threading.current_thread() is self._reader:
                self._put(_Call(callback, args))
            else:
                callback(*args)

        return relayed

    def start(self, items: Iterable[T]) -> None:
        """Start reading ``items`` (when they were not given to the constructor)."""
        if self._reader is not None:
            raise RuntimeError("ReadAhead already started")
        self._items = items
        self._reader = self._thread = threading.Thread(target=self._read, name=self._name, daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        if self._reader is None:
            if self._items is None:
                raise RuntimeError("ReadAhead has nothing to read: give items or call start()")
            self.start(self._items)
        while not self._stop.is_set():
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            if isinstance(item, _Call):
                item.fn(*item.args)
                continue
            yield item

    def _read(self) -> None:
        items = iter(self._items)  # type: ignore[arg-type]
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which re-raises
            self._put(_Failure(e))
            return
        finally:  # a generator's cleanup runs here, before the source is closed
            getattr(items, "close", lambda: None)()
        self._put(_END)

    def _put(self, item: object) -> bool:
        """Queue ``item``; False when the consumer closed meanwhile."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        """Stop reading and join the reader (frames not consumed are dropped)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            while thread.is_alive():
                _drain(self._queue)
                thread.join(timeout=_POLL_S)
            _drain(self._queue)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WriteBehind(Generic[T]):
    """Runs ``deliver(item)`` on its own thread for every ``put(item)``, in order.

    The first exception ``deliver`` raises is re-raised by the next :meth:`put` and by
    :meth:`close` (at the latest), on the caller's thread; later items are then dropped.
    Closing waits until every item put before it is delivered.
    """

    def __init__(self, deliver: Callable[[T], None], depth: int = WRITE_BEHIND, name: str = "write-behind"):
        self._deliver = deliver
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._name = name
        self._error: BaseException | None = None
        self._raised = False
        self._thread: threading.Thread | None = threading.Thread(target=self._write, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Queue ``item`` (blocks while the queue is full); raises the writer's error, if any."""
        if self._error is not None:
            self._raised = True
            raise self._error
        if self._thread is None:
            raise RuntimeError("WriteBehind is closed")
        self._queue.put(item)

    def _write(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if self._error is not None:
                continue  # keep draining so put() never blocks on a dead writer
            try:
                self._deliver(item)
            except BaseException as e:  # noqa: BLE001 - re-raised on the caller's thread
                self._error = e

    def close(self) -> None:
        """Deliver what is queued, join the writer, re-raise its error (if not raised yet)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_END)
        thread.join()
        if self._error is not None and not self._raised:
            self._raised = True
            raise self._error

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # already failing: finish the writes, but do not hide the original exception
            self.close()
        except BaseException as e:  # noqa: BLE001 - logged; the caller's exception goes on
            log.warning("%s: error while the stream was already failing: %s", self._name, e)


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
