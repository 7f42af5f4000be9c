"""Frames of many streams as one batch: the part shared by the local batcher and Ray's model actor.

Each stream has one reference (its background), named by a *key* that changes when the
background does; a stream sends its reference image only with a new key, and the runner encodes
it once (kept on the GPU with IO binding). A batch is a list of :class:`BatchItem` (answered with
a distance map) and :class:`EncodeItem` (answered with the frame's encoder features, for a stream
that compares them with its own feature bank); frames of the same kind and input size run
through the encoder as one stacked batch, distance items then through the head with their
streams' references stacked alike. :mod:`.local_batcher` gathers items from stream threads,
:mod:`streamcd.cluster.model_server` from Ray calls. Usage::

    runner = BatchRunner(model)
    answers = runner.run([BatchItem("cam1", key1, frame1, ref1), EncodeItem("cam2", frame2)])
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .base import Features
from .binding import DeviceFeatures, on_host

log = logging.getLogger(__name__)

#: The answer for a frame whose stream has no reference with its key and sent none.
MISSING = "missing-reference"

#: A stream that sent nothing for this long is not waited for when a batch is filled.
ACTIVE_S = 1.0

#: Stacked references kept for reuse (one per recent set of streams in a batch). Each holds
#: every member's features (a few MB per 320x240 stream, ~50 MB at 1080p), on the GPU when bound.
STACKED_CACHE = 2

Answer = np.ndarray | Features | str | Exception


@dataclass(frozen=True)
class BatchItem:
    """One frame of one stream, already at model input size (uint8 HxWx3).

    ``reference`` (same size) is needed only when ``key`` is new to the runner.
    """

    stream: str
    key: Hashable
    image: np.ndarray
    reference: np.ndarray | None = None


@dataclass(frozen=True)
class EncodeItem:
    """One frame of one stream (model input size, uint8 HxWx3) whose encoder features the stream
    wants: it compares them with its feature bank itself."""

    stream: str
    image: np.ndarray


@dataclass
class BatchCounters:
    """What a runner did: frames (distance and encode items), model runs, reference encodes,
    largest batch, busy seconds."""

    frames: int = 0
    batches: int = 0
    reference_encodes: int = 0
    largest: int = 0
    busy_s: float = 0.0


@dataclass
class _Reference:
    key: Hashable
    features: Features | DeviceFeatures
    host: Features | None = None  # host copy, made when first stacked with other streams'


class BatchRunner:
    """Runs batches of :class:`BatchItem` and :class:`EncodeItem` on one model: one encoder run
    (and one head run for distance items) per kind and input size.

    Not thread-safe: one batch at a time (both callers run batches on a single thread).
    """

    def __init__(self, model) -> None:
        self.model = model  # a ChangeModel; OnnxChangeModel's to_device is used when present
        self.counters = BatchCounters()
        self._refs: dict[str, _Reference] = {}
        self._stacked: dict[tuple, Features | DeviceFeatures] = {}

    def forget(self, stream: str) -> None:
        """Drop a finished stream's reference."""
        self._refs.pop(stream, None)

    def run(self, batch: Sequence[BatchItem | EncodeItem]) -> list[Answer]:
        """Per item: its distance map (H/stride, W/stride) float32 or :data:`MISSING` (a
        :class:`BatchItem`), its features (an :class:`EncodeItem`: per side a (1, C, h, w)
        float32 host array), or the exception."""
        t0 = time.perf_counter()
        answers: list[Answer] = [MISSING] * len(batch)
        groups: dict[tuple[bool, tuple[int, ...]], list[int]] = {}
        for i, item in enumerate(batch):
            try:
                if isinstance(item, EncodeItem) or self._update_reference(item):
                    groups.setdefault((isinstance(item, EncodeItem), item.image.shape), []).append(i)
            except Exception as e:  # noqa: BLE001 - one stream's bad reference fails only it
                answers[i] = e
        for (encode, _), members in groups.items():
            members.sort(key=lambda i: batch[i].stream)  # same streams, same stack: reusable
            try:
                images = np.stack([batch[i].image for i in members])
                if encode:
                    features = self.model.encode(images)
                    for j, i in enumerate(members):  # copies: no answer holds the whole batch
                        answers[i] = tuple(f[j : j + 1].copy() for f in features)
                else:
                    dist = self.model.distance(
                        self._reference_for([batch[i].stream for i in members]), images)
                    for j, i in enumerate(members):
                        answers[i] = np.ascontiguousarray(dist[j])
                c = self.counters
                c.frames, c.batches = c.frames + len(members), c.batches + 1
                c.largest = max(c.largest, len(members))
            except Exception as e:  # noqa: BLE001 - reported to the streams of this group
                for i in members:
                    answers[i] = e
        self.counters.busy_s += time.perf_counter() - t0
        return answers

    def _update_reference(self, item: BatchItem) -> bool:
        """Encode a new reference; True when the stream has features for ``item.key``."""
        cached = self._refs.get(item.stream)
        if item.reference is not None and (cached is None or cached.key != item.key):
            features = self.model.encode_reference(item.reference[None])
            self._refs[item.stream] = cached = _Reference(item.key, features)
            self.counters.reference_encodes += 1
        return cached is not None and cached.key == item.key

    def _reference_for(self, streams: list[str]) -> Features | DeviceFeatures:
        """The references of ``streams`` stacked in that order (uploaded once per composition)."""
        refs = [self._refs[s] for s in streams]
        if len(refs) == 1:
            return refs[0].features
        composition = tuple((s, r.key) for s, r in zip(streams, refs))
        stacked = self._stacked.get(composition)
        if stacked is None:
            for r in refs:
                if r.host is None:
                    r.host = on_host(r.features)
            host = tuple(np.concatenate(level) for level in zip(*(r.host for r in refs)))
            to_device = getattr(self.model, "to_device", None)  # absent: features stay on host
            stacked = to_device(host) if to_device is not None else host
            if len(self._stacked) >= STACKED_CACHE:
                del self._stacked[next(iter(self._stacked))]
            self._stacked[composition] = stacked
        return stacked


@dataclass
class ActiveStreams:
    """Streams that sent a frame lately: a batch waits for those, never for a stalled one."""

    window_s: float = ACTIVE_S
    _seen: dict[str, float] = field(default_factory=dict)

    def seen(self, stream: str, now: float) -> None:
        self._seen[stream] = now

    def count(self, now: float) -> int:
        for stream in [k for k, t in self._seen.items() if now - t > self.window_s]:
            del self._seen[stream]
        return max(1, len(self._seen))

    def worth_waiting(self, queued: int, max_batch: int, now: float) -> bool:
        """Whether more frames may come soon: fewer queued than the batch and the active streams.

        Each stream has at most one frame in flight, so once every active stream has one
        queued, waiting only adds latency.
        """
        return queued < min(max_batch, self.count(now))


class StreamClient:
    """One stream's side: sends its reference only when the key is new, resends on MISSING.

    ``call(stream, key, image, reference_or_None)`` and ``encode(stream, image)`` reach the
    runner (a local batcher, a Ray model actor that may have restarted and lost its references).
    """

    def __init__(self, call: Callable[[str, Hashable, np.ndarray, np.ndarray | None], Answer],
                 stream: str, encode: Callable[[str, np.ndarray], Features]) -> None:
        self._call = call
        self._encode = encode
        self.stream = stream
        self.sent_key: Hashable | None = None  # the reference the runner last received

    def encode(self, image: np.ndarray) -> Features:
        """Encoder features of one model-sized frame (per side (1, C, h, w), on the host)."""
        return self._encode(self.stream, image)

    def distance(self, image: np.ndarray, key: Hashable,
                 reference: Callable[[], np.ndarray]) -> np.ndarray:
        """``reference`` returns the reference at model size; called only when it must be sent."""
        answer = self._call(self.stream, key, image, reference() if key != self.sent_key else None)
        if isinstance(answer, str) and answer == MISSING:  # the runner lost it (actor restart)
            answer = self._call(self.stream, key, image, reference())
        self.sent_key = key
        return answer
