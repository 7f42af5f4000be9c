"""Fit the model card's per-scene threshold rule on validation frames of the training videos.

The rule (``streamcd.postprocess.calibration``) is ``min(card threshold, scale * quantile_q(D))``
with D the distance maps of a scene's background-initialisation frames. Here every training
video is one scene: its init frames are the ones the run-time background manager would take
(CDnet: the warm-up frames before temporalROI; UCSD: the stream median's first frames), its
labelled frames are its validation frames (CDnet validation split, the end of each UCSD clip's
training frames). (quantile, scale) maximise the mean over categories of the scenes' mean F
(CDnet's overall; per video, 14 UCSD clips would outvote the CDnet scenes, and CDnet-like
scenes lost held-out F: ``benchmarks/scene_threshold.py``); left-out videos are never read.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cdnet_layout import HELDOUT_GAP, CdnetVideo, find_videos
from ..postprocess.calibration import SceneCalibration, scene_statistic, spread
from .data import (
    UCSD_GAP,
    _read,
    cdnet_reference,
    cdnet_reference_numbers,
    load_cdnet,
    stream_median,
    stream_median_numbers,
)
from .net import ChangeNet
from .validate import ThresholdCurve, full_res_distance, threshold_curve

log = logging.getLogger(__name__)

QUANTILES = (0.9, 0.95, 0.99, 0.999)
SCALES = tuple(float(a) for a in np.round(np.arange(0.5, 8.01, 0.1), 2))
INIT_FRAMES = 15


@dataclass(frozen=True)
class CalibrationScene:
    """One video: the statistic for each of QUANTILES and its labelled frames' threshold curve."""

    name: str
    statistics: np.ndarray
    curve: ThresholdCurve
    ceiling: float | None = None  # the card threshold of the network that scored it (None: the fit's)

    def f_at(self, threshold: float) -> float:
        return self.curve.f_at(threshold)


@dataclass(frozen=True)
class CalibrationFit:
    rule: SceneCalibration
    fixed_f: float  # mean F over the scenes with the card threshold
    calibrated_f: float  # ... with the rule
    scenes: int
    method: str = "validation frames of the training videos"

    def as_card(self) -> dict:
        return {**self.rule.as_card(), "fitted_on": {
            "scenes": self.scenes, "method": self.method,
            "mean_f_card_threshold": round(self.fixed_f, 4),
            "mean_f_scene_threshold": round(self.calibrated_f, 4)}}


def init_statistics(net: ChangeNet, reference: np.ndarray, init: np.ndarray) -> np.ndarray:
    """scene_statistic for each of QUANTILES over the picked init frames, as the runtime does."""
    picked = init[spread(len(init), INIT_FRAMES)]
    return np.asarray(scene_statistic(list(full_res_distance(net, reference, picked)), QUANTILES))


def video_scene(net: ChangeNet, video: CdnetVideo, streamed: bool, first: int, last: int,
                step: int = 1) -> CalibrationScene:
    """The scene of ``video`` scored on frames ``first..last``; ``streamed``: no warm-up frames,
    the reference is the run-time median of the stream's first frames (UCSD), else CDnet's."""
    if streamed:
        reference, numbers = stream_median(video), stream_median_numbers(video)
    else:
        reference, numbers = cdnet_reference(video), cdnet_reference_numbers(video)
    init = np.stack([_read(video.input_path(n)) for n in numbers])
    labelled = load_cdnet(video, first, last, step=step, reference=reference)
    return CalibrationScene(video.key, init_statistics(net, reference, init), threshold_curve(net, [labelled]))


def labelled_videos(data: Path, work: Path, ucsd: bool = True) -> list[tuple[CdnetVideo, bool]]:
    """(video, streamed) for every CDnet video under ``data`` and, with ``ucsd``, every UCSD clip
    (converted to the CDnet layout under ``work``; streamed: no warm-up frames)."""
    from ..bench.ucsd import ucsd_to_cdnet

    videos = [(video, False) for video in find_videos(data / "cdnet2014")]
    if ucsd and (data / "ucsd").is_dir():
        videos += [(video, True) for video in find_videos(ucsd_to_cdnet(data / "ucsd", work))]
    return videos


def validation_scenes(net: ChangeNet, data: Path, exclude: tuple[str, ...] = ()) -> list[CalibrationScene]:
    """A scene per CDnet and UCSD video under ``data`` not in ``exclude``, on validation frames."""
    scenes = []
    with tempfile.TemporaryDirectory() as tmp:
        for video, streamed in labelled_videos(data, Path(tmp)):
            gap = UCSD_GAP if streamed else HELDOUT_GAP
            first, last = video.validation_range(gap=gap)
            if video.key not in exclude and (last >= first or not streamed):  # UCSD clips may be too short
                scenes.append(video_scene(net, video, streamed, first, last))
    return scenes


def fit_calibration(scenes: list[CalibrationScene], ceiling: float, by_category: bool = True,
                    quantiles: tuple[float, ...] = QUANTILES) -> CalibrationFit:
    """The (quantile, scale) with the best mean F over ``scenes`` (ties: the first found, so the
    lowest scale); ``by_category``: the mean of the categories' means (CDnet's overall). A scene
    with its own ``ceiling`` (scored by another network) is capped by that, the others by
    ``ceiling``; ``quantiles``: a subset of QUANTILES to choose from."""
    if not scenes:
        raise ValueError("fitting the scene threshold needs at least one validation video")
    categories = [s.name.split("/")[0] for s in scenes]
    if by_category:
        weights = np.array([1.0 / categories.count(c) for c in categories]) / len(set(categories))
    else:
        weights = np.full(len(scenes), 1.0 / len(scenes))
    ceilings = [ceiling if s.ceiling is None else s.ceiling for s in scenes]
    fixed = float(np.dot(weights, [s.f_at(c) for s, c in zip(scenes, ceilings)]))
    best: tuple[float, SceneCalibration | None] = (-1.0, None)
    for q in quantiles:
        qi = QUANTILES.index(q)
        for a in SCALES:
            rule = SceneCalibration(q, a, INIT_FRAMES)
            mean_f = float(np.dot(weights, [s.f_at(rule.apply(s.statistics[qi], c))
                                            for s, c in zip(scenes, ceilings)]))
            if mean_f > best[0]:
                best = (mean_f, rule)
    mean_f, rule = best
    assert rule is not None
    log.info("scene threshold: min(%.3f, %.2f x q%s) on %d validation videos: mean F %.4f -> %.4f",
             ceiling, rule.scale, rule.quantile, len(scenes), fixed, mean_f)
    return CalibrationFit(rule, fixed, mean_f, len(scenes))


def calibrate_checkpoint(path: Path, data: Path | None = None, rule_folds: int = 0) -> CalibrationFit:
    """Fit the rule for a saved checkpoint (its threshold, its left-out videos) and store it
    there as ``scene_threshold``; ``streamcd export`` copies it into the model card.
    ``rule_folds > 0``: cross-fitted (:mod:`streamcd.train.crossfit`), retraining the
    checkpoint's recipe that many times."""
    import torch

    from .export import load_checkpoint

    net, ckpt = load_checkpoint(path)
    train_info = ckpt.get("train", {})
    data = Path(data if data is not None else train_info.get("data", "../shared/data"))
    fit: CalibrationFit | None = None
    if rule_folds > 0:
        from .crossfit import cross_fitted_calibration
        from .loop import TrainConfig

        cfg = TrainConfig.from_record({**train_info, "data": str(data), "rule_folds": rule_folds})
        fit = cross_fitted_calibration(cfg, float(ckpt["threshold"]))
    if fit is None:  # not asked for, or nothing to leave out
        fit = fit_calibration(validation_scenes(net, data, tuple(train_info.get("exclude", ()))),
                              float(ckpt["threshold"]))
    ckpt["scene_threshold"] = fit.as_card()
    if "train" in ckpt:
        ckpt["train"]["rule_folds"] = rule_folds
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)
    return fit
