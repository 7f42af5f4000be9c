"""One frame's features against a feature bank: the card's head graph, or the same arithmetic in
numpy once it is seen to give the graph's answer.

The shipped heads are the mean over the sides of the per-pixel L2 distance, each side upsampled
(bilinear, half-pixel centres) to side 0's grid. On CPU, numpy and OpenCV compute that for a
bank of 8 samples in about 60 % of the graph's time (one fused pass per side instead of a
broadcast subtract, a multiply and a reduction), and in about 40 % when the features have unit
length (the shipped encoders L2-normalise every pixel): then ``|b - f|^2 = 2 - 2 b.f``, a
product with no difference array. The first comparison runs the graph and the numpy forms on the
same features; the first form that agrees with the graph is kept, so a head of another shape (a
future attention head, other side weights) keeps running as the graph. The choice is made per
storage type of the samples: samples stored in float16 (no longer of unit length to float32
precision) take the difference form, also where the same model compares a float32 bank of
another stream in the product form; int8 samples take ``|b|^2 + |f|^2 - 2 b.f`` on the int8
array itself (no float32 copy of a bank that is int8 because it is large).

Bank samples may be stored as float32, float16, or int8 holding unit-length features times
``INT8_SCALE`` (a quarter of float32's memory); the comparer widens them for the arithmetic.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import cv2
import numpy as np

from ..errors import ModelError
from .base import Features

log = logging.getLogger(__name__)

#: numpy is used when its distances are within this of the graph's on the first comparison ...
AGREEMENT = 1e-5
#: ... and the unit-length form within this: near 0, float32 rounding of ``2 - 2 b.f`` is a few
#: 1e-4 after the square root (the mask's lowest threshold is 0.3 by default).
UNIT_AGREEMENT = 1e-3


#: int8 bank samples hold unit-length features times this (every component is within +-1).
INT8_SCALE = 127.0


def quantised(features: np.ndarray) -> np.ndarray:
    """Unit-length features as int8 bank samples: times ``INT8_SCALE``, rounded."""
    return np.clip(np.rint(features * np.float32(INT8_SCALE)), -127, 127).astype(np.int8)


def widened(samples: Features) -> Features:
    """Bank samples as float32, as the head takes them: float16 widened, int8 scaled back."""
    out = []
    for side in samples:
        if side.dtype == np.int8:
            wide = side.astype(np.float32)
            wide *= np.float32(1 / INT8_SCALE)
            out.append(wide)
        else:
            out.append(side.astype(np.float32, copy=False))
    return tuple(out)


def mean_side_distance(samples: Features, query: Features) -> np.ndarray:
    """(samples, h0, w0): per side the L2 distance of each sample (any storage type, widened
    first) to the frame (batch 1) over the channels, sides upsampled bilinearly to side 0's grid,
    averaged over the sides."""
    return _mean_over_sides(widened(samples), query, _l2)


def unit_side_distance(samples: Features, query: Features) -> np.ndarray:
    """As :func:`mean_side_distance` for features of unit length per pixel (``|b - f|^2 =
    2 - 2 b.f``): within a few 1e-4 of it there, wrong for other features."""
    return _mean_over_sides(widened(samples), query, _unit_l2)


def int8_side_distance(samples: Features, query: Features) -> np.ndarray:
    """As :func:`mean_side_distance` for int8 samples (unit features times ``INT8_SCALE``),
    taken on the int8 samples themselves: ``|b - f|^2 = |b|^2 + |f|^2 - 2 b.f``, each product
    read from the int8 array (numpy widens it in small buffers, not into a float32 copy four
    times its size). ValueError for samples of another type."""
    if any(side.dtype != np.int8 for side in samples):
        raise ValueError("int8_side_distance takes int8 samples only")
    return _mean_over_sides(samples, query, _int8_l2)


def _int8_l2(bank: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """(samples, h, w) L2 distances of int8 samples (samples, C, h, w), unit features times
    ``INT8_SCALE``, to the frame's float32 (1, C, h, w)."""
    f = frame[0]
    # int8 products summed over at most a few hundred channels: exact in float32
    squared = np.einsum("nchw,nchw->nhw", bank, bank, dtype=np.float32)
    squared *= np.float32(1 / INT8_SCALE**2)
    squared += np.einsum("chw,chw->hw", f, f)
    squared -= np.einsum("nchw,chw->nhw", bank, f * np.float32(2 / INT8_SCALE))
    return np.sqrt(np.maximum(squared, np.float32(0), out=squared), out=squared)


def _l2(bank: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """(samples, h, w) L2 distances of a side's samples (samples, C, h, w) to the frame's
    (1, C, h, w)."""
    diff = bank - frame
    return np.sqrt(np.einsum("nchw,nchw->nhw", diff, diff))


def _unit_l2(bank: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """As :func:`_l2` for unit-length features: ``sqrt(2 - 2 b.f)``, no difference array."""
    squared = np.einsum("nchw,chw->nhw", bank, frame[0])
    squared *= np.float32(-2)
    squared += np.float32(2)
    return np.sqrt(np.maximum(squared, np.float32(0), out=squared), out=squared)


def _mean_over_sides(samples: Features, query: Features,
                     side_distance: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """``side_distance`` of every side, upsampled bilinearly to side 0's grid and averaged."""
    total = None
    for bank, frame in zip(samples, query):
        side = side_distance(bank, frame)
        if total is None:
            total, (h, w) = side, side.shape[1:]
            continue
        # OpenCV resizes up to 512 channels at once: samples as channels, half-pixel centres
        up = cv2.resize(np.ascontiguousarray(side.transpose(1, 2, 0)), (w, h),
                        interpolation=cv2.INTER_LINEAR)
        total += up.reshape(h, w, -1).transpose(2, 0, 1)
    return total / np.float32(len(samples))


#: The numpy forms, fastest first, with how close to the graph each must come to be used. Each
#: takes the samples as stored (the int8 form reads them so; the others widen them first).
_FORMS = ((int8_side_distance, UNIT_AGREEMENT), (unit_side_distance, UNIT_AGREEMENT),
          (mean_side_distance, AGREEMENT))


class BankComparer:
    """``comparer(samples, query) -> (samples, h0, w0)`` distances with a head session.

    ``samples``: per side (samples, C, h, w) in float32, float16 or int8 (unit features times
    ``INT8_SCALE``); ``query``: one frame's float32 features. ``allow_numpy``: False keeps the
    graph for good (e.g. a GPU session). Safe from several threads (each storage type's choice
    is made once, under a lock).
    """

    def __init__(self, session, inputs: list[str], allow_numpy: bool = True) -> None:
        self._session = session
        self._inputs = inputs
        self._allow_numpy = allow_numpy
        #: per storage type of the samples: the numpy function, or False for the graph
        self._forms: dict[np.dtype, Callable[[Features, Features], np.ndarray] | bool] = {}
        self._last: np.dtype | None = None
        self._lock = threading.Lock()

    @property
    def uses_numpy(self) -> bool | None:
        """Whether numpy computed the last comparison's distances (None before the first)."""
        form = self._chosen()
        return None if form is None else form is not False

    @property
    def form(self) -> str | None:
        """Which arithmetic computed the last comparison: a numpy function's name or "graph"
        (None before the first)."""
        form = self._chosen()
        if form is None:
            return None
        return "graph" if form is False else form.__name__

    def _chosen(self):
        if self._last is None:
            return None
        return self._forms.get(self._last, False if not self._allow_numpy else None)

    def __call__(self, samples: Features, query: Features) -> np.ndarray:
        if len(samples) != len(query) or any(
            q.shape[0] != 1 or s.shape[1:] != q.shape[1:] for s, q in zip(samples, query)
        ):
            raise ModelError(
                "compare_bank needs bank samples and one frame's features of the same image "
                f"size; got {[s.shape for s in samples]} and {[q.shape for q in query]}"
            )
        kind = samples[0].dtype
        self._last = kind
        form = self._forms.get(kind) if self._allow_numpy else False
        if form:
            return form(samples, query)
        graph = self._graph(widened(samples), query)
        if form is None:
            with self._lock:
                if kind not in self._forms:
                    self._forms[kind] = self._agreeing(graph, samples, query)
        return graph

    def _graph(self, samples: Features, query: Features) -> np.ndarray:
        return self._session.run(None, dict(zip(self._inputs, (*samples, *query))))[0][:, 0]

    @staticmethod
    def _agreeing(graph: np.ndarray, samples: Features, query: Features):
        """The fastest numpy form that gives the graph's answer (a function of the samples as
        stored), False when none does."""
        for form, tolerance in _FORMS:
            try:
                ours = form(samples, query)
            except (ValueError, cv2.error):  # sides that do not fit the arithmetic
                continue
            if ours.shape == graph.shape and bool(np.abs(ours - graph).max() <= tolerance):
                log.debug("bank comparison: numpy %s (agrees with the head graph)", form.__name__)
                return form
        log.debug("bank comparison: the head graph (no numpy form reproduces it)")
        return False

