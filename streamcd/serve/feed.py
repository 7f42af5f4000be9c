"""What the live server knows about each stream: the newest result, recent events, health.

The pipeline's threads hand results and events to a :class:`LiveHub` (a ``RunObserver``); that
costs a reference swap per result. Pictures are rendered and JPEG-encoded only when a viewer
asks, at most once per result and view however many viewers watch (``StreamFeed.jpeg``), so a
stream nobody watches pays nothing, and a slow viewer simply gets fewer, newer frames.

Example::

    hub = LiveHub(["cam1"])
    pipeline.run(observer=hub)                    # on another thread
    hub.feeds["cam1"].status()                    # StreamStatus(ok=True, state='running', ...)
    seq, jpeg = hub.feeds["cam1"].jpeg("annotated")
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..frames import Result, StreamEvent
from ..pipeline import LiveState, RunObserver
from ..sources import DISCONNECT, RECONNECT
from ..stats import StreamStats
from .render import View, encode_jpeg, render

#: Latest events kept per stream for the page and ``/api/streams``.
EVENTS_KEPT = 20


@dataclass(frozen=True)
class StreamStatus:
    """Health of one stream: ``ok`` False while it starts, is disconnected, or failed."""

    ok: bool
    state: str  # starting (not opened, or no result yet) | running | disconnected | failed | ended
    reason: str = ""


@dataclass(frozen=True)
class _Picture:
    key: object  # seq, or the reference array itself
    seq: int
    data: bytes
    at: float  # time.monotonic() of the encode


class StreamFeed:
    """One stream's newest result, events and JPEG cache; written by the pipeline's threads,
    read by the server's."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.live: LiveState | None = None
        self.events: deque[StreamEvent] = deque(maxlen=EVENTS_KEPT)
        self.encodes = 0  # JPEG encodes so far (for tests and the benchmark)
        # (seq, result) swapped as one tuple, so a reader never pairs a seq with another result.
        self._latest: tuple[int, Result | None] = (0, None)
        self._down: StreamEvent | None = None  # the disconnect not yet followed by a reconnect
        self._ended = False
        self._watchers = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._encode_lock = threading.Lock()
        self._cache: dict[str, _Picture] = {}

    # -- pipeline side ----------------------------------------------------------------------

    def publish(self, result: Result) -> None:
        self._latest = (self._latest[0] + 1, result)  # only the stream's sink thread writes
        loop = self._loop
        if self._watchers and loop is not None:
            with contextlib.suppress(RuntimeError):  # the server's loop closed meanwhile
                loop.call_soon_threadsafe(self._wake)

    def add_event(self, event: StreamEvent) -> None:
        self.events.append(event)
        if event.kind == DISCONNECT:
            self._down = event
        elif event.kind == RECONNECT:
            self._down = None

    def end(self) -> None:
        self._ended = True
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake)

    # -- server side ------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """Results published so far; a viewer compares it with the last one it showed."""
        return self._latest[0]

    @property
    def watchers(self) -> int:
        return self._watchers

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called once from the server's event loop; ``wait_newer`` then wakes on new results."""
        self._loop = loop
        self._changed = asyncio.Event()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Counts a viewer while the block runs (only watched streams wake the server)."""
        self._watchers += 1  # the server's loop is the only writer
        try:
            yield
        finally:
            self._watchers -= 1

    async def wait_newer(self, seq: int, timeout_s: float) -> int:
        """The current ``seq`` once it differs from ``seq`` (or after ``timeout_s``)."""
        changed = self._changed
        if self.seq == seq and changed is not None and not self._ended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout_s)
        return self.seq

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        if changed is not None:
            changed.set()

    def jpeg(self, view: View, max_age_s: float = 0.0) -> tuple[int, bytes] | None:
        """(seq, JPEG) of the newest result in ``view``; None before there is one.

        Encodes at most once per result and view, and not again within ``max_age_s`` of the
        last encode (a viewer capped at N fps cannot use more; this keeps encodes at N per
        second however many viewers ask out of step). Concurrent callers share one encode.
        """
        fresh = self.fresh(view, max_age_s)
        if fresh is not None:
            return fresh
        with self._encode_lock:
            seq, result = self._latest
            if result is None:
                return None
            reference = self.live.reference() if self.live is not None else None
            # The reference changes rarely and is never modified in place: keyed by identity.
            key = reference if view == "reference" else seq
            now = time.monotonic()
            cached = self._cache.get(view)
            if cached is not None and (cached.key is key if view == "reference" else
                                       cached.key == key or now - cached.at < max_age_s):
                return cached.seq, cached.data
            image = render(view, result, reference)
            if image is None:
                return None
            data = encode_jpeg(image)
            self.encodes += 1
            self._cache[view] = _Picture(key, seq, data, now)
            return seq, data

    def fresh(self, view: View, max_age_s: float = 0.0) -> tuple[int, bytes] | None:
        """The cached picture of ``view`` when ``jpeg`` would hand it out unchanged (no encode
        due), else None: cheap enough for the event loop, which then skips a thread hop."""
        cached = self._cache.get(view)
        if cached is None:
            return None
        if view == "reference":
            current = self.live.reference() if self.live is not None else None
            return (cached.seq, cached.data) if cached.key is current else None
        if cached.key == self.seq or time.monotonic() - cached.at < max_age_s:
            return cached.seq, cached.data
        return None

    def status(self) -> StreamStatus:
        live = self.live
        if live is None:
            return StreamStatus(False, "starting", "not opened yet")
        if live.report.error is not None:
            return StreamStatus(False, "failed", live.report.error)
        if self._ended:
            return StreamStatus(True, "ended", "the source ended")
        down = self._down
        if down is not None:
            since = time.time() - down.timestamp
            return StreamStatus(False, "disconnected", f"{down.detail} ({since:.0f} s ago)")
        if self.seq == 0:  # a camera down from the start posts no disconnect: no frame says it
            return StreamStatus(False, "starting",
                                "no frame processed yet (connecting, or collecting the background)")
        return StreamStatus(True, "running")

    def stats(self) -> StreamStats | None:
        return StreamStats.of(self.live.report) if self.live is not None else None

    def threshold(self) -> float | None:
        return self.live.threshold() if self.live is not None else None


class LiveHub(RunObserver):
    """The ``RunObserver`` that feeds the server: one :class:`StreamFeed` per stream name."""

    def __init__(self, streams: Iterable[str], provider: str = "") -> None:
        self.feeds: dict[str, StreamFeed] = {name: StreamFeed(name) for name in streams}
        self.provider = provider

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        for feed in self.feeds.values():
            feed.bind(loop)

    def on_attach(self, stream: str, live: LiveState) -> None:
        self.feeds[stream].live = live

    def on_result(self, stream: str, result: Result) -> None:
        self.feeds[stream].publish(result)

    def on_event(self, event: StreamEvent) -> None:
        feed = self.feeds.get(event.stream)
        if feed is not None:
            feed.add_event(event)

    def on_end(self, report) -> None:
        self.feeds[report.name].end()

    def failing(self) -> dict[str, StreamStatus]:
        """The streams that are not healthy, with why."""
        return {name: s for name, f in self.feeds.items() if not (s := f.status()).ok}
