"""Per-scene threshold from the frames the background was built from (no labels needed).

A scene the model never saw has its own level of distance noise (texture, compression, grain).
The model card's rule lowers the card threshold on quiet scenes::

    threshold = min(card threshold, scale * quantile_q(D))   (never below 0.1 x card threshold)

where D are the distance maps of the background-initialisation frames against the reference
they made (mostly background, so their upper quantile measures the scene's noise). ``quantile``
and ``scale`` are fitted on the training videos' validation frames (``streamcd.train.calibrate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Fewer initialisation frames than this leave the threshold as it is: a median of one or two
#: frames equals them, so their distances say nothing about the scene's noise.
MIN_FRAMES = 10
#: The rule never goes below this fraction of the card threshold (a synthetic, noise-free
#: scene would otherwise get a threshold near 0). On the 20 unseen videos the lowest was 0.15.
MIN_FRACTION = 0.1


@dataclass(frozen=True)
class SceneCalibration:
    """The card's rule: ``min(ceiling, scale * quantile_q(D on init frames))``."""

    quantile: float
    scale: float
    frames: int = 15  # most initialisation frames used, evenly spread

    def __post_init__(self) -> None:
        if not 0.0 < self.quantile < 1.0 or self.scale <= 0 or self.frames < 1:
            raise ValueError(
                f"calibration needs 0 < quantile < 1, scale > 0, frames >= 1; got {self}"
            )

    @classmethod
    def from_card(cls, raw: dict[str, Any] | None) -> SceneCalibration | None:
        """The ``scene_threshold`` entry of a model card (None when the card has none)."""
        if raw is None:
            return None
        return cls(float(raw["quantile"]), float(raw["scale"]), int(raw.get("frames", 15)))

    def as_card(self) -> dict[str, Any]:
        return {"quantile": self.quantile, "scale": self.scale, "frames": self.frames}

    def pick(self, count: int) -> list[int]:
        """Indices of the initialisation frames used, evenly spread over ``count``."""
        return spread(count, self.frames)

    def threshold(self, distances: Sequence[np.ndarray], ceiling: float) -> float:
        """The scene's threshold from the distance maps of the picked frames."""
        return self.apply(float(scene_statistic(distances, self.quantile)), ceiling)

    def apply(self, statistic: float, ceiling: float) -> float:
        """The threshold for a scene whose ``quantile`` statistic is ``statistic``."""
        return float(min(ceiling, max(MIN_FRACTION * ceiling, self.scale * statistic)))


def spread(count: int, most: int) -> list[int]:
    """Up to ``most`` indices evenly spread over ``range(count)``, first and last included."""
    if count <= 0:
        return []
    return sorted({int(i) for i in np.linspace(0, count - 1, min(count, most)).round()})


def scene_statistic(distances: Sequence[np.ndarray], quantile: float | Sequence[float]):
    """``quantile`` of the distance values of frame-sized maps (every 2nd row and column: the
    maps are upsampled from the model's stride-2 output, so this keeps the information)."""
    values = np.concatenate([np.asarray(d, np.float32)[::2, ::2].ravel() for d in distances])
    return np.quantile(values, quantile)
