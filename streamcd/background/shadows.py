"""Hard cast shadows: the shadow network's verdict on the feature bank's changed pixels.

The change network finds the road under a car's hard shadow as changed as the car (the shadow
keeps 10-50 % of the light and shifts its hue). The shadow network (``streamcd
train-shadows``; a model card names it as ``"shadows"``) sees the frame and the bank's picture
together and gives, per pixel of the bank's grid, the probability that a change is a shadow.
Pixels darker than the picture that it calls a shadow with probability above
``SHADOW_PROBABILITY`` are background; like the colour gate, this only clears the mask and
never teaches the bank.

The network sees the box around the changed darker cells (plus ``SHADOW_CONTEXT``). It starts
early, on a thread of the gate's own, on the box the last frame's changes call for (widened by
``SHADOW_REACH`` for what moved since) while the caller compares the frame's features with the
bank: on two cores its 2 ms per 320x240 frame are then mostly hidden. When this frame's changes
do not fit that box (something new appeared elsewhere) it runs again on theirs; after a frame
without changes it starts nothing (a quiet scene does not pay for it).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import ModelError
from ..runtime.onnx_model import cpu_session
from .bank import brightness

log = logging.getLogger(__name__)

#: A changed pixel is taken for a shadow above this probability (the network learnt shadows and
#: objects weighted alike; a high bar keeps objects: 0.5 loses more of them than it gains).
SHADOW_PROBABILITY = 0.9
#: Grid cells of context around the changed pixels given to the network (its reach is ~30).
SHADOW_CONTEXT = 24
#: Grid cells a change may move from one frame to the next and still be in the early box.
SHADOW_REACH = 8

#: (top, bottom, left, right) of a box on the grid, bottom and right excluded
GridBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class Verdict:
    """The network's probability over ``box``, being computed by :meth:`ShadowGate.start`."""

    box: GridBox
    probability: Future


class ShadowGate:
    """The shadow network of a model card, on CPU, applied to the bank's changed pixels.

    Example::

        gate = ShadowGate(card.shadows)
        verdict = gate.start(image, picture)             # runs beside what follows (or None)
        ...                                              # the change map ``scaled``
        gate.clear(scaled, image, picture, above=0.3, verdict=verdict)  # zeroes its shadows
    """

    def __init__(self, graph: bytes | Path, threads: int = 1) -> None:
        self._session = cpu_session(graph, threads, "shadow")
        names = [i.name for i in self._session.get_inputs()]
        if names != ["frame", "background"]:
            raise ModelError(f"{graph if not isinstance(graph, bytes) else 'shadow graph'}: "
                             f"inputs {names}, expected ['frame', 'background'] (a graph written "
                             "by 'streamcd train-shadows')")
        self._worker: ThreadPoolExecutor | None = None
        self._worker_pid = 0  # the process the worker thread belongs to
        #: the box of the last frame's changed darker cells, None without; at first: everywhere
        self._last: GridBox | None = (0, 2**31, 0, 2**31)

    def probability(self, image: np.ndarray, picture: np.ndarray) -> np.ndarray:
        """HxW float32 shadow probability of ``image`` against ``picture`` (both HxWx3 BGR uint8)."""
        return self._session.run(None, {"frame": image[None], "background": picture[None]})[0][0]

    def start(self, image: np.ndarray, picture: np.ndarray) -> Verdict | None:
        """The network's probability over the box the last frame's changes call for (the whole
        grid at first), computed on the gate's own thread; None (nothing started) when the last
        frame had no changed cell darker than its picture."""
        if self._last is None:
            return None
        if self._worker is None or self._worker_pid != os.getpid():
            # a forked child has none of its parent's threads: it starts its own worker
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadows")
            self._worker_pid = os.getpid()
        box = _widened(self._last, SHADOW_CONTEXT + SHADOW_REACH, image.shape[:2])
        return Verdict(box, self._worker.submit(self._probability_in, box, image, picture))

    def clear(self, scaled: np.ndarray, image: np.ndarray, picture: np.ndarray,
              above: float, verdict: Verdict | None = None) -> int:
        """Zero the pixels of ``scaled`` (the bank's change map on its grid) above ``above`` that
        are darker than ``picture`` and a shadow by the network, which sees the box around them
        (plus ``SHADOW_CONTEXT``): ``verdict``'s from :meth:`start` when it holds that box, else
        computed here. Returns how many were cleared."""
        candidates = scaled > above
        if candidates.any():
            candidates &= cv2.compare(brightness(image), brightness(picture), cv2.CMP_LT) > 0
        ys, xs = np.nonzero(candidates)
        if not ys.size:
            self._last = None
            return 0
        self._last = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
        need = _widened(self._last, SHADOW_CONTEXT, scaled.shape)
        if verdict is not None and _holds(verdict.box, need):
            box, probability = verdict.box, verdict.probability.result()
        else:
            box, probability = need, self._probability_in(need, image, picture)
        window = np.s_[box[0]:box[1], box[2]:box[3]]
        cleared = candidates[window] & (probability > SHADOW_PROBABILITY)
        scaled[window][cleared] = 0.0
        return int(cleared.sum())

    def _probability_in(self, box: GridBox, image: np.ndarray, picture: np.ndarray) -> np.ndarray:
        window = np.s_[box[0]:box[1], box[2]:box[3]]
        return self.probability(np.ascontiguousarray(image[window]),
                                np.ascontiguousarray(picture[window]))


def _widened(box: GridBox, by: int, shape: tuple[int, ...]) -> GridBox:
    """``box`` grown by ``by`` cells on every side, within a grid of ``shape`` (h, w)."""
    top, bottom, left, right = box
    return max(top - by, 0), min(bottom + by, shape[0]), max(left - by, 0), min(right + by, shape[1])


def _holds(outer: GridBox, inner: GridBox) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1] and outer[2] <= inner[2] and inner[3] <= outer[3]
