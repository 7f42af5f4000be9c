"""One frame through the model: reference features (cached), query features, distance, mask.

Shared by the Pipeline (streams) and the Detector (``apply(frame) -> mask``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .background import BackgroundManager
from .background.align import Shift, aligned, shifted
from .background.bank import BankSettings, FeatureBank
from .background.shadows import ShadowGate
from .config import BANK_THRESHOLD
from .frames import Frame, Result, StreamEvent
from .postprocess import MaskPostprocessor
from .postprocess.temporal import TemporalMean
from .runtime.base import BankHead, ChangeModel, Features, ModelTraits
from .runtime.binding import DeviceFeatures
from .runtime.geometry import TRAINING_SIDE, model_input_size, to_frame_size, to_model_input

log = logging.getLogger(__name__)


@dataclass
class StageTimes:
    """Accumulated seconds per stage (read by stats lines and benchmarks)."""

    background: float = 0.0
    inference: float = 0.0
    postprocess: float = 0.0
    frames: int = 0
    reference_encodes: int = 0

    def per_frame_ms(self) -> dict[str, float]:
        n = max(self.frames, 1)
        return {k: 1000 * getattr(self, k) / n for k in ("background", "inference", "postprocess")}


@dataclass
class ReferenceCache:
    """Encoder features of the reference, recomputed only when its version or size changes."""

    version: int = -1
    size: tuple[int, int] = (0, 0)
    features: Features | DeviceFeatures = field(default_factory=tuple)

    def get(self, model: ChangeModel, reference: np.ndarray, version: int, size: tuple[int, int],
            times: StageTimes) -> Features | DeviceFeatures:
        if version != self.version or size != self.size:
            self.features = model.encode_reference(to_model_input(reference, size)[None])
            self.version, self.size = version, size
            times.reference_encodes += 1
        return self.features


#: ``background.bank.dtype: auto`` stores the samples in int8 above this many bytes.
BANK_FLOAT32_MAX_BYTES = 32 * 2**20


def _storage(dtype: str, samples: int, features: Features) -> type:
    """The bank samples' numpy type for ``background.bank.dtype``: ``auto`` keeps float32 up
    to ``BANK_FLOAT32_MAX_BYTES`` and takes int8 above (unit-length features times 127: within
    0.004 per component, a quarter of the memory and widened 6x faster than float16), float16
    for features of another kind (a component beyond +-1 would not fit)."""
    if dtype != "auto":
        return {"float32": np.float32, "float16": np.float16, "int8": np.int8}[dtype]
    if sum(f.nbytes // f.shape[0] for f in features) * samples <= BANK_FLOAT32_MAX_BYTES:
        return np.float32
    unit = all(float(np.abs(f).max()) <= 1.0 + 1e-4 for f in features)
    return np.int8 if unit else np.float16


class FrameProcessor:
    """Runs frames of one stream through background -> model -> postprocess.

    With ``background.model: bank`` (the default) each frame's features are compared with the
    background manager's feature bank (:mod:`streamcd.background.bank`), built here from the
    frames of each new median (or the reference picture) and updated by the manager with each
    mask; the threshold is the bank's base (the card's ``bank_threshold``, or
    ``postprocess.threshold``) and per-pixel feedback raises it where the background moves.
    With ``background.model: reference`` the frame is compared with the one reference image
    and thresholded at the model card's ``threshold`` (or ``postprocess.threshold``). The
    distance maps of the last ``postprocess.temporal_mean`` frames are averaged (unset: the model's
    ``temporal_mean``, the card's). ``max_side``: frames with a longer side are downscaled for
    the model; ``min_side``: frames whose longer side is shorter are upscaled for it (the scale
    the networks learnt at); the change map is scaled back to the frame. The encoder is reached
    through :meth:`encode` (the model itself here; a batcher or a Ray model actor in
    :class:`ClientFrameProcessor`).
    """

    def __init__(self, model: ChangeModel, background: BackgroundManager,
                 postprocess: MaskPostprocessor, stream: str = "", keep_distance: bool = False,
                 max_side: int | None = None, min_side: int | None = TRAINING_SIDE):
        self.model = model
        self.head: BankHead | None = model  # compares frames with the bank (the model's head)
        self.max_side = max_side
        self.min_side = min_side
        self.background = background
        self.postprocess = postprocess
        self.stream = stream
        self.keep_distance = keep_distance
        self.times = StageTimes()
        self._cache = ReferenceCache()
        self.use_bank = background.config.model == "bank"
        if self.use_bank and postprocess.config.threshold is None:
            postprocess.threshold = float(getattr(model, "bank_threshold", None) or BANK_THRESHOLD)
        self._bank_settings = BankSettings(**background.config.bank.model_dump(exclude={"dtype"}))
        self.shadow_gate = self._shadow_gate(getattr(model, "shadows", None))
        self.smooth = TemporalMean(postprocess.config.temporal_mean
                                   or getattr(model, "temporal_mean", 1))
        self._smoothed_version = -1

    def distance(self, image: np.ndarray, reference: np.ndarray, version: int) -> np.ndarray:
        """Frame-sized float32 change map of ``image`` against ``reference``."""
        h, w = image.shape[:2]
        size = self.input_size(w, h)
        t0 = time.perf_counter()
        ref = self._cache.get(self.model, reference, version, size, self.times)
        dist = self.model.distance(ref, to_model_input(image, size)[None])[0]
        self.times.inference += time.perf_counter() - t0
        return to_frame_size(dist, (w, h))

    def input_size(self, w: int, h: int) -> tuple[int, int]:
        """(w, h) of what the model sees of a w x h frame."""
        return model_input_size((w, h), self.model.multiple, self.max_side, self.min_side)

    def encode(self, image: np.ndarray) -> Features:
        """Encoder features (per side (1, C, h, w), on the host) of one model-sized frame."""
        return self.model.encode(image[None])

    def bank_distance(self, image: np.ndarray) -> np.ndarray:
        """Frame-sized change map of ``image`` against the feature bank (built when missing)."""
        h, w = image.shape[:2]
        size = self.input_size(w, h)
        t0 = time.perf_counter()
        seen = to_model_input(image, size)
        bank = self.background.bank
        shift = Shift()
        if bank is not None:
            seen, shift = bank.align(bank.match_exposure(seen))
        query = self.encode(seen)
        if (bank is None or not bank.fits(query) or bank.settings != self._bank_settings
                or bank.base != self.postprocess.threshold):  # a resumed bank of other settings
            bank = self._new_bank(size)
        dist = bank.score(query, self.head.compare_bank, seen, gate_above=self._gate_above(),
                          shadows=self.shadow_gate)
        if shift:  # the change back onto the frame
            dist = shifted(dist, shift.scaled(dist.shape[1] / seen.shape[1]))
        self.times.inference += time.perf_counter() - t0
        return to_frame_size(dist, (w, h))

    def _shadow_gate(self, graph: Path | bytes | None) -> ShadowGate | None:
        """The card's shadow network (a path, or its bytes from a Ray model actor) when the
        bank uses it (``background.bank.shadows``); None otherwise."""
        if not (self.use_bank and self._bank_settings.shadows and graph):
            return None
        log.info("stream %s: hard cast shadows cleared by the shadow network %s", self.stream,
                 "of the model actor" if isinstance(graph, bytes) else graph)
        return ShadowGate(graph)

    def _gate_above(self) -> float:
        """The lowest threshold the mask takes from the map: the colour gate is needed only near
        pixels above it (0, everywhere, when the map itself is handed on)."""
        if self.keep_distance:
            return 0.0
        return self.postprocess.threshold * min(1.0, self.postprocess.config.hysteresis)

    def _new_bank(self, size: tuple[int, int]) -> FeatureBank:
        """A bank from the frames of the newest median, or from the reference alone."""
        reference = self.background.reference
        reference_input = to_model_input(reference, size)
        center = self.encode(reference_input)
        frames = self.background.take_init_frames()
        self.times.reference_encodes += 1
        if frames is None or frames.shape[1:3] != reference.shape[:2]:
            inputs, features = [reference_input], [center]
        else:
            inputs = [to_model_input(f, size) for f in frames]
            if self._bank_settings.align:  # a camera shaking from the start: one place, one sample
                inputs = aligned(reference_input, inputs, min_shift=self.model.stride)
            features = [self.encode(f) for f in inputs]
            self.times.reference_encodes += len(features)
        config = self.background.config.bank
        # Seeded: the same video gives the same masks on every run (benchmarks, resumed runs).
        bank = FeatureBank.from_frames(features, self._bank_settings, self.postprocess.threshold, center,
                                       seed=0, dtype=_storage(config.dtype, config.samples, center),
                                       images=inputs if config.colour_threshold else None,
                                       center_image=reference_input)
        if len(features) > 1:
            bank.seed_mean(features, self.head.compare_bank)
        self.background.bank = bank
        log.info("stream %s: feature bank of %d samples (%s) from %d frame(s), %.1f MB, base "
                 "threshold %.3f", self.stream, config.samples, bank.samples[0].dtype, len(features),
                 bank.nbytes / 2**20, bank.base)
        return bank

    def process(self, frame: Frame) -> tuple[Result, list[StreamEvent]]:
        """The Result of one frame and the stream events it caused (background re-init)."""
        t0 = time.perf_counter()
        events = self.background.prepare(frame.image)
        self.times.background += time.perf_counter() - t0
        version = self.background.version
        if self.use_bank:
            dist = self.bank_distance(frame.image)
        else:
            self.background.take_init_frames()  # only a feature bank is built from them: let go
            dist = self.distance(frame.image, self.background.reference, version)
        t1 = time.perf_counter()
        if version != self._smoothed_version:  # maps against another reference: start over
            self.smooth.reset()
            self._smoothed_version = version
        dist = self.smooth(dist)
        mask, boxes, fraction = self.postprocess(dist)
        t2 = time.perf_counter()
        self.times.postprocess += t2 - t1
        events += self.background.observe(frame.image, mask)
        self.times.background += time.perf_counter() - t2
        self.times.frames += 1
        result = Result(frame, mask, boxes, fraction, dist if self.keep_distance else None, self.stream)
        return result, [e.named(self.stream) for e in events]


class ModelClient(Protocol):
    """A model reached through a reference cache keyed per stream (a batcher, a Ray actor)."""

    sent_key: Hashable | None

    def distance(self, image: np.ndarray, key: Hashable,
                 reference: Callable[[], np.ndarray]) -> np.ndarray: ...

    def encode(self, image: np.ndarray) -> Features: ...


class ClientFrameProcessor(FrameProcessor):
    """FrameProcessor whose encoder (and, with ``background.model: reference``, head) runs behind
    a :class:`ModelClient`.

    Frames go to the client resized to the model input. With a feature bank the client hands
    back each frame's features; the bank and its comparison (``head``: the shared model in this
    process, the card's head on a Ray stream actor) stay here. With one reference the client
    answers a distance map, and the reference goes only when its key (incarnation token,
    background version, input size) is new to the client. Of ``model`` it needs only the
    :class:`~streamcd.runtime.base.ModelTraits` (the model runs behind the client).
    """

    def __init__(self, client: ModelClient, model: ModelTraits, background: BackgroundManager,
                 postprocess: MaskPostprocessor, stream: str, incarnation: str = "",
                 max_side: int | None = None, *, head: BankHead | None = None,
                 min_side: int | None = TRAINING_SIDE) -> None:
        super().__init__(model, background, postprocess, stream, max_side=max_side,
                         min_side=min_side)
        if self.use_bank and head is None:
            raise ValueError(f"stream {stream}: background.model bank needs the model's head "
                             "(ClientFrameProcessor(..., head=...))")
        self.head = head
        self.client = client
        self.incarnation = incarnation

    def encode(self, image: np.ndarray) -> Features:
        return self.client.encode(image)

    def distance(self, image: np.ndarray, reference: np.ndarray, version: int) -> np.ndarray:
        h, w = image.shape[:2]
        size = self.input_size(w, h)
        t0 = time.perf_counter()
        # The incarnation token keeps a restarted stream's versions from matching stale features.
        key = (self.incarnation, version, size)
        sent = self.client.sent_key
        dist = self.client.distance(to_model_input(image, size), key,
                                    lambda: to_model_input(reference, size))
        if sent != key:
            self.times.reference_encodes += 1
        self.times.inference += time.perf_counter() - t0
        return to_frame_size(dist, (w, h))
