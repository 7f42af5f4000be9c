"""A latest-frame reader for live sources: a producer thread and a small drop-oldest queue.

A camera does not wait for a slow consumer; queueing every frame would make the latency grow
without bound. The reader keeps the newest ``queue_size`` frames, drops older ones (counted in
``stats.dropped``) and hands each frame out at most once. Events posted by the producer travel
in the same queue, so ``on_event`` runs on the consuming thread, in order with the frames.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError
from ..frames import Frame, StreamEvent
from .base import ClosingMixin, EventCallback, SourceStats, emit, make_event

if TYPE_CHECKING:
    from typing import Self

logger = logging.getLogger(__name__)

#: ``produce(stop, post)``: yields BGR images until the stream ends or ``stop`` is set;
#: ``post(kind, detail)`` queues a StreamEvent. Runs on the reader thread.
Producer = Callable[[threading.Event, Callable[[str, str], None]], Iterable[np.ndarray]]

_END = object()  # sentinel: the producer finished


@dataclass(frozen=True)
class _Failure:
    error: BaseException


class LiveReader:
    """Runs a producer on a daemon thread and serves its newest frames.

    Frame.index is the position as read (so drops leave gaps), Frame.number = index + 1,
    Frame.timestamp = ``time.time()`` and Frame.arrival = ``time.monotonic()`` at arrival.
    Iteration ends when the producer ends or ``stop()``/``close()`` is called (only ``close()``
    waits for the thread); an exception raised by the
    producer is re-raised to the consumer. The thread starts on the first iteration.

    Example:
        >>> def produce(stop, post):
        ...     while not stop.is_set():
        ...         yield grab()  # doctest: +SKIP
        >>> with LiveReader(produce, queue_size=2, name="cam") as reader:  # doctest: +SKIP
        ...     for frame in reader:
        ...         slow_work(frame)  # frames that came meanwhile are dropped, not queued
    """

    def __init__(
        self,
        produce: Producer,
        queue_size: int = 2,
        stats: SourceStats | None = None,
        on_event: EventCallback | None = None,
        name: str = "live",
        join_timeout_s: float = 5.0,
    ) -> None:
        if queue_size < 1:
            raise ConfigError(f"live source: queue_size must be >= 1, got {queue_size}")
        self.queue_size = queue_size
        self.stats = stats if stats is not None else SourceStats()
        self.name = name
        self._produce = produce
        self._on_event = on_event
        self._join_timeout_s = join_timeout_s
        self._items: deque[object] = deque()
        self._queued_frames = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        """Whether the reader thread was started; once ``stop()`` returned False, it never will."""
        with self._cond:
            return self._thread is not None

    def start(self) -> None:
        """Start the reader thread (idempotent; does nothing after ``stop()``)."""
        with self._cond:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(
                target=self._run, name=f"streamcd-{self.name}", daemon=True
            )
            self._thread.start()

    def __iter__(self) -> Iterator[Frame]:
        self.start()
        try:
            while True:
                with self._cond:
                    while not self._items and not self._closed:
                        self._cond.wait()
                    if self._closed:
                        return
                    item = self._items.popleft()
                    if isinstance(item, Frame):
                        self._queued_frames -= 1
                if isinstance(item, Frame):
                    self.stats.frames += 1
                    yield item
                elif isinstance(item, StreamEvent):
                    emit(self._on_event, item)
                elif isinstance(item, _Failure):
                    raise item.error
                else:  # _END
                    return
        finally:
            # No join here: a consumer that stops (Ctrl-C) must not wait for a blocked read
            # before it flushes its outputs; ``close()`` (the ``with`` block's end) joins.
            self.stop()

    def stop(self) -> None:
        """Stop the producer and end the consumer's iteration; returns at once (no join), so
        that a shutdown does not wait here for a read blocked until its timeout."""
        self._stop.set()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def close(self) -> None:
        """``stop()``, then join the thread (safe to call twice)."""
        self.stop()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        thread.join(self._join_timeout_s)
        if thread.is_alive():
            # A read blocked inside FFmpeg ends at its own timeout; the daemon thread exits then.
            logger.warning(
                "%s: reader thread still blocked after %.1f s; leaving it to exit on its own",
                self.name,
                self._join_timeout_s,
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        images = self._produce(self._stop, self._post)
        index = 0
        try:
            for image in images:
                if self._stop.is_set():
                    break
                self._put_frame(Frame(index, index + 1, time.time(), image, time.monotonic()))
                index += 1
        except Exception as e:  # noqa: BLE001 - handed to the consumer, re-raised there
            if not self._stop.is_set():
                logger.debug("%s: producer failed: %s", self.name, e)
            self._put(_Failure(e))
        else:
            self._put(_END)
        finally:
            close = getattr(images, "close", None)
            if close is not None:
                close()  # run the producer's own finally (closing its container) on this thread

    def _post(self, kind: str, detail: str = "") -> None:
        self._put(make_event(kind, detail))

    def _put(self, item: object) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify()

    def _put_frame(self, frame: Frame) -> None:
        with self._cond:
            if self._queued_frames >= self.queue_size:
                for i, item in enumerate(self._items):
                    if isinstance(item, Frame):
                        del self._items[i]
                        break
                self._queued_frames -= 1
                self.stats.dropped += 1
            self._items.append(frame)
            self._queued_frames += 1
            self._cond.notify()


class LiveReaderSource(ClosingMixin):
    """The Source methods of a live source whose frames come from a LiveReader (``_reader``)."""

    _reader: LiveReader

    def __iter__(self) -> Iterator[Frame]:
        return iter(self._reader)

    def close(self) -> None:
        """Stop reading and wait for the reader thread (at most its join timeout)."""
        self._reader.close()

    def stop(self) -> None:
        """End iteration now, without waiting for the reader thread (``close()`` waits)."""
        self._reader.stop()
