"""The Model plug point: encode images once, compare feature sets many times."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

Features = tuple[np.ndarray, ...]


@runtime_checkable
class ChangeModel(Protocol):
    """A siamese change model split as encoder + head.

    ``encode`` maps NHWC uint8 BGR images (sides multiples of ``multiple``) to feature maps;
    ``compare`` maps reference features (batch 1 or N) and query features (batch N) to distance
    maps (N, H/stride, W/stride), larger = more changed. ``threshold`` is the model card's.
    """

    threshold: float
    provider: str
    multiple: int
    stride: int

    def encode(self, images: np.ndarray) -> Features: ...

    def compare(self, reference: Features, query: Features) -> np.ndarray: ...
