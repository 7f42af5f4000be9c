"""The model actor: runs the change model for many streams, batching their frames.

A stream sends its frame already resized to the model input (uint8) and a *reference key*; the
actor keeps each stream's reference features, so a reference image crosses the network only when
the stream's background changes (or after this actor restarted and lost its cache: it then
answers :data:`MISSING` and the stream sends the reference again). What comes back is the
distance map at model resolution (stride 2), float32; thresholding and masks stay on the stream.
A stream with a feature bank calls ``encode`` instead and gets its frame's encoder features: it
keeps its bank and compares with the card's head itself (the graph comes with :class:`ModelInfo`).

The class is plain Python (testable without Ray); :mod:`.ray_backend` wraps it with
``ray.remote``. Its ``infer`` is a coroutine: Ray runs it as an async actor, so requests keep
arriving while a batch runs on the inference thread. The batch itself (reference cache, one
encoder run per input size) is :class:`~streamcd.runtime.batch_runner.BatchRunner`, which the local
pipeline's batcher runs too.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..config import ModelConfig
from ..runtime.base import Features
from ..runtime.batch_runner import (
    MISSING,
    ActiveStreams,
    Answer,
    BatchItem,
    BatchRunner,
    EncodeItem,
)

log = logging.getLogger(__name__)

__all__ = ["MISSING", "ModelInfo", "ModelServer", "ModelStats"]

#: (stream incarnation token, background version, model input (w, h)): a reference's identity.
RefKey = tuple[str, int, tuple[int, int]]


@dataclass(frozen=True)
class ModelInfo:
    """What a stream needs to know about the remote model: a
    :class:`~streamcd.runtime.base.ModelTraits` (threshold, input sides), plus the card's
    postprocessing defaults, where the model runs, and the head graph (ONNX bytes, ~20 KB) that
    a stream with a feature bank compares its frames with (:class:`~streamcd.runtime.onnx_model.OnnxHead`)."""

    name: str
    provider: str
    threshold: float
    multiple: int
    stride: int
    node: str = ""
    temporal_mean: int = 1
    bank_threshold: float | None = None
    head: bytes = field(default=b"", repr=False)
    shadows: bytes = field(default=b"", repr=False)  # the card's shadow network, b"" without one


@dataclass(frozen=True)
class ModelStats:
    """Cluster-wide counters of one model actor."""

    actor: int
    node: str
    provider: str
    frames: int
    batches: int
    reference_encodes: int
    busy_s: float
    largest_batch: int

    @property
    def mean_batch(self) -> float:
        return self.frames / self.batches if self.batches else 0.0


@dataclass
class _Request:
    item: BatchItem | EncodeItem
    future: asyncio.Future


class ModelServer:
    """Batches ``infer`` calls of many streams into one encoder and one head run per input size
    (``encode`` calls, from streams with a feature bank, into one encoder run).

    Example (in Ray: ``ray.remote(ModelServer).remote(...)``, ``await actor.infer.remote(...)``)::

        server = ModelServer(ModelConfig(provider="cpu"), max_batch=8, max_wait_ms=5)
        dist = await server.infer("cam1", ("run-a", 1, (320, 240)), frame, reference)
    """

    def __init__(self, config: ModelConfig, max_batch: int = 8, max_wait_ms: float = 5.0,
                 actor: int = 0, node: str = "") -> None:
        from ..runtime.onnx_model import OnnxChangeModel

        self.model = OnnxChangeModel.from_config(config)
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000
        self.actor = actor
        self.node = node or _node_id()
        self._runner = BatchRunner(self.model)  # one reference per stream
        self._active = ActiveStreams()
        self._queue: list[_Request] = []
        self._arrived: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="model")  # one batch at a time

    async def info(self) -> ModelInfo:
        m = self.model
        return ModelInfo(m.card.name, m.provider, m.threshold, m.multiple, m.stride, self.node,
                         m.temporal_mean, m.bank_threshold, m.card.head.read_bytes(),
                         m.card.shadows.read_bytes() if m.card.shadows else b"")

    async def stats(self) -> ModelStats:
        c = self._runner.counters
        return ModelStats(self.actor, self.node, self.model.provider, c.frames, c.batches,
                          c.reference_encodes, c.busy_s, c.largest)

    async def infer(self, stream: str, key: RefKey, image: np.ndarray,
                    reference: np.ndarray | None = None) -> np.ndarray | str:
        """Distance map (H/stride, W/stride) float32 of ``image`` against the stream's reference.

        ``reference`` (same size as ``image``) is needed when ``key`` is new to this actor;
        without it the answer is :data:`MISSING`.
        """
        return await self._submit(BatchItem(stream, key, image, reference))

    async def encode(self, stream: str, image: np.ndarray) -> Features:
        """Encoder features of ``image`` (model input size), per side (1, C, h, w) float32: a
        stream with a feature bank compares them with its bank itself."""
        return await self._submit(EncodeItem(stream, image))

    async def _submit(self, item: BatchItem | EncodeItem) -> Answer:
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.get_loop() is not loop:  # first call (or new loop)
            self._arrived = asyncio.Event()
            self._worker = loop.create_task(self._batches_loop())
        future = loop.create_future()
        self._queue.append(_Request(item, future))
        self._active.seen(item.stream, loop.time())
        self._arrived.set()
        return await future

    async def _batches_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            # Wait a little for other streams' frames, unless a full batch is there or every
            # stream seen lately already has its frame queued (a stream sends one at a time).
            deadline = loop.time() + self.max_wait_s
            while (self._active.worth_waiting(len(self._queue), self.max_batch, loop.time())
                   and (left := deadline - loop.time()) > 0):
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), left)
                except TimeoutError:
                    break
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            if not self._queue:
                self._arrived.clear()
            try:
                answers = await loop.run_in_executor(
                    self._pool, self._runner.run, [r.item for r in batch])
            except Exception as e:  # noqa: BLE001 - handed to every waiting stream
                answers = [e] * len(batch)
            for request, answer in zip(batch, answers):
                if request.future.done():
                    continue
                if isinstance(answer, Exception):
                    request.future.set_exception(answer)
                else:
                    request.future.set_result(answer)


def _node_id() -> str:
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    except ModuleNotFoundError:
        return ""
