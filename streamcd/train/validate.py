"""Threshold selection on validation frames (never on the frames that are reported).

Distances of valid positive and negative pixels are counted per candidate threshold and video
(``bench.thresholds.ThresholdCounts``, shared with the report's PR curve), so precision, recall
and F for every candidate threshold come from one pass over the frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ..bench.thresholds import ThresholdCounts
from .data import LabelledVideo
from .net import ChangeNet

BINS = np.linspace(0.0, 2.0, 401)


@dataclass(frozen=True)
class ThresholdCurve:
    """Per-video TP/FP/FN counts for each threshold in ``thresholds`` (foreground iff D > t)."""

    thresholds: np.ndarray
    tp: np.ndarray  # (videos, thresholds)
    fp: np.ndarray
    fn: np.ndarray
    names: tuple[str, ...]

    def f_measure(self) -> np.ndarray:
        """F per video and threshold (0 where undefined)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            pr = self.tp / (self.tp + self.fp)
            re = self.tp / (self.tp + self.fn)
            f = 2 * pr * re / (pr + re)
        return np.nan_to_num(f)

    def f_at(self, threshold: float, video: int = 0) -> float:
        """F of one video at the candidate threshold just at or above ``threshold``."""
        i = min(int(np.searchsorted(self.thresholds, threshold)), len(self.thresholds) - 1)
        return float(self.f_measure()[video, i])

    def best(self) -> tuple[float, float]:
        """(threshold, mean F over videos) maximising the mean F."""
        mean_f = self.f_measure().mean(axis=0)
        i = int(np.argmax(mean_f))
        return float(self.thresholds[i]), float(mean_f[i])


@torch.no_grad()
def full_res_distance(net: ChangeNet, reference: np.ndarray, frames: np.ndarray, batch: int = 8) -> np.ndarray:
    """Fused distance maps at frame size, as the ONNX runtime computes them (bilinear resize)."""
    net.eval()
    h, w = frames.shape[1:3]
    ref_feats = net.encoder(torch.from_numpy(reference[None]))
    out = np.empty(frames.shape[:3], np.float32)
    for s in range(0, len(frames), batch):
        q = net.encoder(torch.from_numpy(frames[s : s + batch]))
        fused = net.head(*ref_feats, *q).numpy()[:, 0]
        for k, d in enumerate(fused):
            out[s + k] = cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def threshold_curve(net: ChangeNet, videos: list[LabelledVideo]) -> ThresholdCurve:
    tp, fp, fn = [], [], []
    for video in videos:
        dist = full_res_distance(net, video.reference, video.frames)
        counts = ThresholdCounts(BINS)
        counts.add(dist, video.labels == 1, video.labels == 0)
        # candidate thresholds are BINS[:-1] (the last edge, 2.0, is the largest distance)
        tp.append(counts.tp()[:-1])
        fp.append(counts.fp()[:-1])
        fn.append(counts.fn()[:-1])
    return ThresholdCurve(BINS[:-1], np.array(tp), np.array(fp), np.array(fn), tuple(v.name for v in videos))
