"""One frame's features against a feature bank: the card's head graph, or the same arithmetic in
numpy once it is seen to give the graph's answer.

The shipped heads are the mean over the sides of the per-pixel L2 distance, each side upsampled
(bilinear, half-pixel centres) to side 0's grid. On CPU, numpy and OpenCV compute that for a
bank of 8 samples in about 60 % of the graph's time (one fused pass per side instead of a
broadcast subtract, a multiply and a reduction). The first comparison runs both on the same
features; numpy is kept only when it agrees with the graph, so a head of another shape (a future
attention head, other side weights) keeps running as the graph.
"""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np

from ..errors import ModelError
from .base import Features

log = logging.getLogger(__name__)

#: numpy is used when its distances are within this of the graph's on the first comparison.
AGREEMENT = 1e-5


def mean_side_distance(samples: Features, query: Features) -> np.ndarray:
    """(samples, h0, w0): per side the L2 distance of each sample to the frame (batch 1) over
    the channels, sides upsampled bilinearly to side 0's grid, averaged over the sides."""
    total = None
    for bank, frame in zip(samples, query):
        diff = bank - frame
        side = np.sqrt(np.einsum("nchw,nchw->nhw", diff, diff))
        if total is None:
            total, (h, w) = side, side.shape[1:]
            continue
        # OpenCV resizes up to 512 channels at once: samples as channels, half-pixel centres
        up = cv2.resize(np.ascontiguousarray(side.transpose(1, 2, 0)), (w, h),
                        interpolation=cv2.INTER_LINEAR)
        total += up.reshape(h, w, -1).transpose(2, 0, 1)
    return total / np.float32(len(samples))


class BankComparer:
    """``comparer(samples, query) -> (samples, h0, w0)`` distances with a head session.

    ``allow_numpy``: False keeps the graph for good (e.g. a GPU session). Safe from several
    threads (the choice is made once, under a lock).
    """

    def __init__(self, session, inputs: list[str], allow_numpy: bool = True) -> None:
        self._session = session
        self._inputs = inputs
        self._numpy: bool | None = None if allow_numpy else False
        self._lock = threading.Lock()

    @property
    def uses_numpy(self) -> bool | None:
        """Whether numpy computes the distances (None until the first comparison)."""
        return self._numpy

    def __call__(self, samples: Features, query: Features) -> np.ndarray:
        if len(samples) != len(query) or any(
            q.shape[0] != 1 or s.shape[1:] != q.shape[1:] for s, q in zip(samples, query)
        ):
            raise ModelError(
                "compare_bank needs bank samples and one frame's features of the same image "
                f"size; got {[s.shape for s in samples]} and {[q.shape for q in query]}"
            )
        if self._numpy:
            return mean_side_distance(samples, query)
        graph = self._graph(samples, query)
        if self._numpy is None:
            with self._lock:
                if self._numpy is None:
                    self._numpy = self._agrees(graph, samples, query)
        return graph

    def _graph(self, samples: Features, query: Features) -> np.ndarray:
        return self._session.run(None, dict(zip(self._inputs, (*samples, *query))))[0][:, 0]

    @staticmethod
    def _agrees(graph: np.ndarray, samples: Features, query: Features) -> bool:
        try:
            ours = mean_side_distance(samples, query)
        except (ValueError, cv2.error):  # sides that do not fit the arithmetic: the graph it is
            return False
        agree = ours.shape == graph.shape and bool(np.abs(ours - graph).max() <= AGREEMENT)
        log.debug("bank comparison: %s", "numpy (agrees with the head graph)" if agree
                  else "the head graph (numpy does not reproduce it)")
        return agree
