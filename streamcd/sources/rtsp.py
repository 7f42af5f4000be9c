"""RTSP cameras: PyAV on a reader thread, with read timeouts and reconnect with backoff."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import av
import numpy as np

from ..config import ReconnectConfig, RtspSourceConfig
from ..errors import SourceError, SourceTimeoutError
from .base import CORRUPT, DISCONNECT, GAP, RECONNECT, EventCallback, SourceStats
from .convert import to_bgr
from .hwdecode import HwDecoder
from .live import LiveReader, LiveReaderSource

logger = logging.getLogger(__name__)


def backoff_delay(attempt: int, config: ReconnectConfig, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (1, 2, ...): exponential, capped at
    ``max_delay_s``, spread by +-``jitter`` so that many cameras do not retry in lockstep."""
    base = min(config.max_delay_s, config.initial_delay_s * config.multiplier ** (attempt - 1))
    spread = (rng or random).uniform(-config.jitter, config.jitter)
    return max(0.0, base * (1.0 + spread))


def redact(url: str) -> str:
    """The URL without its password, for logs and events."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RtspSource(LiveReaderSource):
    """An RTSP stream read on its own thread; keeps the newest ``queue_size`` frames.

    Every end of the connection (error, no data for ``read_timeout_s``, server gone) emits a
    ``disconnect`` event; the reader then reconnects with exponential backoff and jitter
    (``reconnect``), emitting ``reconnect`` when a connection opens again and ``gap`` with the
    outage length at the first new frame. A frame is never handed out twice, so an outage is a
    pause in the stream, not a frozen picture. The attempt counter resets at each first frame;
    after ``reconnect.max_attempts`` failed attempts in a row iteration raises SourceError.
    The first connection is made on the reader thread too: a camera that is not up yet is
    retried like a lost one. ``fps`` is None until the first connection.

    Example:
        >>> with RtspSource("rtsp://camera.local/stream", read_timeout_s=3) as source:  # doctest: +SKIP
        ...     for frame in source:
        ...         print(frame.number, frame.timestamp)
    """

    live = True

    def __init__(
        self,
        url: str,
        transport: Literal["tcp", "udp"] = "tcp",
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        queue_size: int = 1,
        reconnect: ReconnectConfig | None = None,
        on_event: EventCallback | None = None,
        hwaccel: str | None = None,
    ) -> None:
        self.url = url
        self.transport = transport
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.reconnect = reconnect if reconnect is not None else ReconnectConfig()
        self.fps: float | None = None
        self.stats = SourceStats()
        self._name = redact(url)
        self.decoder = HwDecoder(hwaccel, self._name)  # hwaccel: cuda = NVDEC, else software
        self._reader = LiveReader(
            self._frames,
            queue_size,
            self.stats,
            on_event,
            name=f"rtsp {self._name}",
            join_timeout_s=max(open_timeout_s, read_timeout_s) + 1.0,
        )

    @classmethod
    def from_config(
        cls, config: RtspSourceConfig, on_event: EventCallback | None = None
    ) -> RtspSource:
        return cls(
            config.url,
            config.transport,
            config.open_timeout_s,
            config.read_timeout_s,
            config.queue_size,
            config.reconnect,
            on_event,
            config.hwaccel,
        )

    def _frames(
        self, stop: threading.Event, post: Callable[[str, str], None]
    ) -> Iterator[np.ndarray]:
        """LiveReader producer: connect, decode, reconnect; until stopped or giving up."""
        link = _Link(self.url, self._name)
        attempt = 0  # failed attempts since the last frame; 0 = the first connect
        sessions = 0
        while not stop.is_set():
            if attempt > 0:
                self._check_attempts(attempt, link)
                delay = backoff_delay(attempt, self.reconnect)
                logger.info("%s: reconnect attempt %d in %.2f s", self._name, attempt, delay)
                if stop.wait(delay):
                    return
            container = self._connect(link)
            if container is None:
                attempt += 1
                continue
            sessions += 1
            if sessions > 1:
                self.stats.reconnects += 1
                post(RECONNECT, f"{self._name}: connected again (attempt {attempt})")
            with container:
                got_frame = yield from self._session(container, stop, post, link)
            if stop.is_set():
                return
            attempt = 1 if got_frame else attempt + 1
            logger.warning("%s: disconnected: %s", self._name, link.reason)
            post(DISCONNECT, f"{self._name}: {link.reason}")

    def _connect(self, link: _Link) -> av.container.InputContainer | None:
        started = time.monotonic()
        try:
            container = self.decoder.open(
                self.url,
                options={"rtsp_transport": self.transport},
                timeout=(self.open_timeout_s, self.read_timeout_s),
            )
        except av.error.FFmpegError as e:
            link.failed(e, self.open_timeout_s, time.monotonic() - started)
            logger.warning("%s: cannot connect: %s", self._name, link.reason)
            return None
        logger.info("%s: connected", self._name)
        return container

    def _session(
        self,
        container: av.container.InputContainer,
        stop: threading.Event,
        post: Callable[[str, str], None],
        link: _Link,
    ) -> Generator[np.ndarray, None, bool]:
        """Decode one connection until it ends; returns whether any frame came."""
        got_frame = False
        link.ended("end of stream (server closed the connection)")
        last_packet_at = time.monotonic()
        try:
            if not container.streams.video:
                raise SourceError(f"{self._name}: the stream has no video track")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            self.fps = float(rate) if rate else self.fps
            for packet in container.demux(stream):
                last_packet_at = time.monotonic()
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError as e:
                    self.stats.corrupt += 1
                    post(CORRUPT, f"{self._name}: undecodable packet: {e}")
                    continue
                for vf in decoded:
                    now = time.monotonic()
                    if not got_frame and link.last_frame_at is not None:
                        gap = now - link.last_frame_at
                        post(GAP, f"{self._name}: no frames for {gap:.2f} s")
                    got_frame, link.last_frame_at = True, now
                    yield to_bgr(vf)
                if stop.is_set():
                    break
        except (av.error.FFmpegError, SourceError) as e:
            link.failed(e, self.read_timeout_s, time.monotonic() - last_packet_at)
        return got_frame

    def _check_attempts(self, attempt: int, link: _Link) -> None:
        limit = self.reconnect.max_attempts
        if limit is None or attempt <= limit:
            return
        error = SourceTimeoutError if link.timed_out else SourceError
        raise error(
            f"{self._name}: gave up after {limit} reconnect attempts (last: {link.reason}); "
            "check that the camera is reachable, or raise reconnect.max_attempts"
        ) from link.error


@dataclass
class _Link:
    """What the reader thread knows about the connection's last failure and last frame."""

    url: str
    name: str  # the URL without its password
    reason: str = ""
    error: BaseException | None = None
    timed_out: bool = False
    last_frame_at: float | None = None

    def ended(self, reason: str) -> None:
        self.reason, self.error, self.timed_out = reason, None, False

    def failed(self, error: BaseException, timeout_s: float, waited_s: float) -> None:
        # FFmpeg's RTSP demuxer reports an interrupted (timed-out) request as "Invalid data",
        # so a failure that took the whole timeout counts as a timeout too.
        self.error = error
        self.timed_out = isinstance(error, (av.error.ExitError, TimeoutError)) or (
            waited_s >= 0.95 * timeout_s
        )
        if self.timed_out:
            self.reason = f"no answer within {timeout_s:g} s (timeout)"
        else:  # FFmpeg's message quotes the URL, password included
            self.reason = str(error).replace(self.url, self.name)
