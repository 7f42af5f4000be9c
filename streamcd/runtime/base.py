"""The Model plug point: encode images once, compare feature sets many times."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from .binding import DeviceFeatures

Features = tuple[np.ndarray, ...]


class ModelTraits(Protocol):
    """What a stream needs to know about its model, wherever the model runs (this process, a
    batcher's thread, a Ray model actor): the card's threshold, and the input side multiple and
    output stride that size its frames and maps. A model may also carry ``temporal_mean`` (see
    :class:`ChangeModel`), read with ``getattr``.
    """

    threshold: float
    multiple: int
    stride: int


@runtime_checkable
class ChangeModel(ModelTraits, Protocol):
    """A siamese change model split as encoder + head.

    ``encode`` maps NHWC uint8 BGR images (sides multiples of ``multiple``) to feature maps;
    ``compare`` maps reference features (batch 1 or N) and query features (batch N) to distance
    maps (N, H/stride, W/stride), larger = more changed. ``encode_reference`` and ``distance``
    are the per-frame path: the reference's features may stay wherever the model keeps them
    (the GPU), and ``distance(ref, images)`` is ``compare(ref, encode(images))`` without
    handing the frames' features out. ``threshold`` is the model card's; a model may also
    carry ``temporal_mean`` (the card's ``postprocess.temporal_mean`` default, 1 when absent),
    read with ``getattr``.
    """

    provider: str

    def encode(self, images: np.ndarray) -> Features: ...

    def compare(self, reference: Features | DeviceFeatures,
                query: Features | DeviceFeatures) -> np.ndarray: ...

    def encode_reference(self, images: np.ndarray) -> Features | DeviceFeatures: ...

    def distance(self, reference: Features | DeviceFeatures, images: np.ndarray) -> np.ndarray: ...


class BankHead(Protocol):
    """The model's head as a feature bank uses it: one frame's features (batch 1) against every
    sample of the bank, (samples, H/stride, W/stride) distances. ``OnnxChangeModel`` is one; a
    stream whose encoder runs elsewhere uses ``OnnxHead``."""

    def compare_bank(self, samples: Features, query: Features) -> np.ndarray: ...
