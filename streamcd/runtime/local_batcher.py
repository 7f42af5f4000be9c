"""Batching across the streams of the local pipeline: one encoder run for frames of many streams.

Each stream thread calls :meth:`FrameBatcher.infer` (a distance map against its reference) or
:meth:`FrameBatcher.encode` (its frame's features, for its feature bank) and blocks; a model
thread gathers the waiting frames up to ``max_batch`` (waiting at most ``max_wait_ms`` for streams
that are active but have not sent yet) and runs them with :class:`~.batch_runner.BatchRunner`, the
code Ray's model actor uses. Worth it on a GPU, where a batch of 8 costs little more than one frame; on a small
CPU a batch costs what its frames cost one by one, so it is off by default (``max_batch: 1``).
Usage::

    with FrameBatcher(model, max_batch=8, max_wait_ms=5) as batcher:
        client = batcher.client("cam1")             # one per stream thread
        dist = client.distance(frame, key, lambda: reference)
        features = client.encode(frame)              # for a stream with a feature bank
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError
from .base import Features
from .batch_runner import (
    ActiveStreams,
    Answer,
    BatchCounters,
    BatchItem,
    BatchRunner,
    EncodeItem,
    StreamClient,
)

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Pending:
    item: BatchItem | EncodeItem
    future: Future


class FrameBatcher:
    """Gathers frames from stream threads into batches for one model (a context manager)."""

    def __init__(self, model, max_batch: int = 8, max_wait_ms: float = 5.0) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.runner = BatchRunner(model)
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._active = ActiveStreams()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="model-batcher", daemon=True)
        self._thread.start()

    @property
    def counters(self) -> BatchCounters:
        return self.runner.counters

    def client(self, stream: str) -> StreamClient:
        """A stream's handle (sends its reference only when the key changes)."""
        return StreamClient(self.infer, stream, self.encode)

    def infer(self, stream: str, key: Hashable, image: np.ndarray,
              reference: np.ndarray | None = None) -> Answer:
        """Distance map of ``image`` (model-sized) against the stream's reference; blocks."""
        return self._submit(BatchItem(stream, key, image, reference))

    def encode(self, stream: str, image: np.ndarray) -> Features:
        """Encoder features of ``image`` (model-sized), per side (1, C, h, w) on the host; blocks."""
        return self._submit(EncodeItem(stream, image))

    def _submit(self, item: BatchItem | EncodeItem) -> Answer:
        pending = _Pending(item, Future())
        with self._cond:
            if self._closed:
                raise ModelError("the frame batcher is closed")
            self._queue.append(pending)
            self._active.seen(item.stream, time.monotonic())
            self._cond.notify_all()
        return pending.future.result()

    def close(self) -> None:
        """Finish the frames already queued, then stop the model thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        c = self.counters
        if c.batches:
            log.info("batcher: %d frames in %d batches (mean %.2f, largest %d)", c.frames,
                     c.batches, c.frames / c.batches, c.largest)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return  # closed and drained
                deadline = time.monotonic() + self.max_wait_s
                while not self._closed:
                    now = time.monotonic()
                    if now >= deadline or not self._active.worth_waiting(
                            len(self._queue), self.max_batch, now):
                        break
                    self._cond.wait(deadline - now)
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                answers = self.runner.run([p.item for p in batch])
            except Exception as e:  # noqa: BLE001 - handed to every waiting stream
                answers = [e] * len(batch)
            for pending, answer in zip(batch, answers):
                if isinstance(answer, Exception):
                    pending.future.set_exception(answer)
                else:
                    pending.future.set_result(answer)
