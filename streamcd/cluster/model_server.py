"""The model actor: runs the change model for many streams, batching their frames.

A stream sends its frame already resized to the model input (uint8) and a *reference key*; the
actor keeps each stream's reference features, so a reference image crosses the network only when
the stream's background changes (or after this actor restarted and lost its cache: it then
answers :data:`MISSING` and the stream sends the reference again). What comes back is the
distance map at model resolution (stride 2), float32; thresholding and masks stay on the stream.

The class is plain Python (testable without Ray); :mod:`.ray_backend` wraps it with
``ray.remote``. Its ``infer`` is a coroutine: Ray runs it as an async actor, so requests keep
arriving while a batch runs on the inference thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..config import ModelConfig
from ..runtime.base import Features

log = logging.getLogger(__name__)

#: ``infer`` answer when the actor has no features for the key and no reference came with it.
MISSING = "missing-reference"

#: A stream that sent nothing for this long is not waited for when a batch is filled.
ACTIVE_S = 1.0

#: (stream incarnation token, background version, model input (w, h)): a reference's identity.
RefKey = tuple[str, int, tuple[int, int]]


@dataclass(frozen=True)
class ModelInfo:
    """What a stream needs to know about the remote model (postprocess threshold, input sides)."""

    name: str
    provider: str
    threshold: float
    multiple: int
    stride: int
    node: str = ""


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
    stream: str
    key: RefKey
    image: np.ndarray
    reference: np.ndarray | None
    future: asyncio.Future


class ModelServer:
    """Batches ``infer`` calls of many streams into one encoder and one head run per input size.

    Example (in Ray: ``ray.remote(ModelServer).remote(...)``, ``await actor.infer.remote(...)``)::

        server = ModelServer(ModelConfig(provider="cpu"), max_batch=8, max_wait_ms=5)
        dist = await server.infer("cam1", ("run-a", 1, (320, 240)), frame, reference)
    """

    def __init__(self, config: ModelConfig, max_batch: int = 8, max_wait_ms: float = 5.0,
                 actor: int = 0, node: str = "") -> None:
        from ..runtime.onnx_model import OnnxChangeModel

        self.model = OnnxChangeModel.load(config.path, config.name, config.provider, config.threads)
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000
        self.actor = actor
        self.node = node or _node_id()
        self._refs: dict[str, tuple[RefKey, Features]] = {}  # one reference per stream
        self._seen: dict[str, float] = {}  # stream -> time of its last request
        self._queue: list[_Request] = []
        self._arrived: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="model")  # one batch at a time
        self._frames = self._batches = self._encodes = self._largest = 0
        self._busy = 0.0

    async def info(self) -> ModelInfo:
        m = self.model
        return ModelInfo(m.card.name, m.provider, m.threshold, m.multiple, m.stride, self.node)

    async def stats(self) -> ModelStats:
        return ModelStats(self.actor, self.node, self.model.provider, self._frames, self._batches,
                          self._encodes, self._busy, self._largest)

    async def infer(self, stream: str, key: RefKey, image: np.ndarray,
                    reference: np.ndarray | None = None) -> np.ndarray | str:
        """Distance map (H/stride, W/stride) float32 of ``image`` against the stream's reference.

        ``reference`` (same size as ``image``) is needed when ``key`` is new to this actor;
        without it the answer is :data:`MISSING`.
        """
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.get_loop() is not loop:  # first call (or new loop)
            self._arrived = asyncio.Event()
            self._worker = loop.create_task(self._batches_loop())
        future = loop.create_future()
        self._queue.append(_Request(stream, key, image, reference, future))
        self._seen[stream] = loop.time()
        self._arrived.set()
        return await future

    async def _batches_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            # Wait a little for other streams' frames, unless a full batch is there or every
            # stream seen lately already has its frame queued (a stream sends one at a time).
            deadline = loop.time() + self.max_wait_s
            while (len(self._queue) < min(self.max_batch, self._active(loop.time()))
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
                answers = await loop.run_in_executor(self._pool, self._run, batch)
            except Exception as e:  # noqa: BLE001 - handed to every waiting stream
                answers = [e] * len(batch)
            for request, answer in zip(batch, answers):
                if request.future.done():
                    continue
                if isinstance(answer, Exception):
                    request.future.set_exception(answer)
                else:
                    request.future.set_result(answer)

    def _active(self, now: float) -> int:
        """Streams that sent a frame in the last second (those worth waiting for)."""
        for stream in [k for k, t in self._seen.items() if now - t > ACTIVE_S]:
            del self._seen[stream]
        return max(1, len(self._seen))

    def _run(self, batch: list[_Request]) -> list[np.ndarray | str | Exception]:
        """One batch, on the inference thread: references first, then one run per input size."""
        t0 = time.perf_counter()
        answers: list[np.ndarray | str | Exception] = [MISSING] * len(batch)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, request in enumerate(batch):
            try:
                if request.reference is not None:
                    cached = self._refs.get(request.stream)
                    if cached is None or cached[0] != request.key:
                        feats = self.model.encode(request.reference[None])
                        self._refs[request.stream] = (request.key, feats)
                        self._encodes += 1
                cached = self._refs.get(request.stream)
                if cached is not None and cached[0] == request.key:
                    groups.setdefault(request.image.shape, []).append(i)
            except Exception as e:  # noqa: BLE001 - one stream's bad reference fails only it
                answers[i] = e
        for members in groups.values():
            try:
                images = np.stack([batch[i].image for i in members])
                refs = [self._refs[batch[i].stream][1] for i in members]
                reference = tuple(np.concatenate(level) for level in zip(*refs))
                dist = self.model.compare(reference, self.model.encode(images))
                for j, i in enumerate(members):
                    answers[i] = np.ascontiguousarray(dist[j])
                self._frames += len(members)
                self._batches += 1
                self._largest = max(self._largest, len(members))
            except Exception as e:  # noqa: BLE001 - reported to the streams of this group
                for i in members:
                    answers[i] = e
        self._busy += time.perf_counter() - t0
        return answers


def _node_id() -> str:
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    except ModuleNotFoundError:
        return ""
