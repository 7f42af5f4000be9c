"""Hard cast shadows: the shadow network's verdict on the feature bank's changed pixels.

The change network finds the road under a car's hard shadow as changed as the car (the shadow
keeps 10-50 % of the light and shifts its hue). The shadow network (``streamcd
train-shadows``; a model card names it as ``"shadows"``) sees the frame and the bank's picture
together and gives, per pixel of the bank's grid, the probability that a change is a shadow.
Pixels darker than the picture that it calls a shadow with probability above
``SHADOW_PROBABILITY`` are background; like the colour gate, this only clears the mask and
never teaches the bank. The network sees the whole grid, on a thread of the gate's own, while
the caller compares the frame's features with the bank (on two cores its 2 ms per 320x240
frame are then mostly hidden); after a frame without changed darker cells it waits until one
has some (a quiet scene does not pay for it).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
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


class ShadowGate:
    """The shadow network of a model card, on CPU, applied to the bank's changed pixels.

    Example::

        gate = ShadowGate(card.shadows)
        verdict = gate.start(image, picture)             # runs beside what follows
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
        self._had_candidates = True  # whether the last frame cleared had changed darker cells

    def probability(self, image: np.ndarray, picture: np.ndarray) -> np.ndarray:
        """HxW float32 shadow probability of ``image`` against ``picture`` (both HxWx3 BGR uint8)."""
        return self._session.run(None, {"frame": image[None], "background": picture[None]})[0][0]

    def start(self, image: np.ndarray, picture: np.ndarray) -> Future | None:
        """The network's probability over the whole grid, computed on the gate's own thread;
        None (nothing started) when the last frame had no changed cell darker than its picture:
        a quiet scene costs nothing, and :meth:`clear` computes the verdict itself if this frame
        does have one (the same answer, later)."""
        if not self._had_candidates:
            return None
        if self._worker is None or self._worker_pid != os.getpid():
            # a forked child has none of its parent's threads: it starts its own worker
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadows")
            self._worker_pid = os.getpid()
        return self._worker.submit(self.probability, image, picture)

    def clear(self, scaled: np.ndarray, image: np.ndarray, picture: np.ndarray,
              above: float, verdict: Future | None = None) -> int:
        """Zero the pixels of ``scaled`` (the bank's change map on its grid) above ``above`` that
        are darker than ``picture`` and a shadow by the network (``verdict``: its probability
        from :meth:`start`, else computed here). Returns how many were cleared."""
        candidates = scaled > above
        if candidates.any():
            candidates &= cv2.compare(brightness(image), brightness(picture), cv2.CMP_LT) > 0
        self._had_candidates = bool(candidates.any())
        if not self._had_candidates:
            return 0
        probability = verdict.result() if verdict is not None else self.probability(image, picture)
        cleared = candidates & (probability > SHADOW_PROBABILITY)
        scaled[cleared] = 0.0
        return int(cleared.sum())
