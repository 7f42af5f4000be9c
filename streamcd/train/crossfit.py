"""Fit the per-scene threshold rule on videos the network never saw (inner cross-validation).

A network's distances on the videos it was trained on are lower than on a new camera's, so a
rule fitted on the training videos' own validation frames sets its scale too high for new
cameras (on the unseen-video folds: x 1.8-2.0 fitted, x 1.4-1.5 best in hindsight). Here the
training videos are dealt into ``rule_folds`` groups; per group, the same recipe trains a network
without that group, and the group's videos are scored by it over their whole labelled range, as
a new camera would be. The rule is fitted on all those scenes, each capped by the card threshold
of the network that scored it, and is then used with the full network's own card threshold.

Only the 0.9 and 0.95 quantiles are offered: the upper ones of 15 initialisation frames are set
by the objects in them, and choosing among all four on ~16 videos picked rules that did not
carry over to the next fold (docs/experiments.md, "Per-scene threshold").
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from pathlib import Path

from .calibrate import (
    CalibrationFit,
    CalibrationScene,
    fit_calibration,
    labelled_videos,
    video_scene,
)
from .loop import TrainConfig, fit_network

log = logging.getLogger(__name__)

CROSS_FIT_QUANTILES = (0.9, 0.95)
#: Labelled frames scored per left-out video: every SCORE_STEP-th of its whole range.
SCORE_STEP = 2


def rule_groups(keys: list[str], folds: int) -> list[list[str]]:
    """Deal the video keys (``category/name``) round-robin into ``folds`` groups, so that every
    group leaves at least one CDnet video for training and validation. A lone CDnet video is
    never left out (it is not scored); UCSD clips (``ucsd/...``) are dealt after the CDnet ones."""
    if folds < 2:
        raise ValueError(f"rule folds must be at least 2, got {folds}")
    cdnet = sorted(k for k in keys if not k.startswith("ucsd/"))
    ucsd = sorted(k for k in keys if k.startswith("ucsd/"))
    dealt = (cdnet if len(cdnet) >= 2 else []) + ucsd
    groups = [dealt[i::folds] for i in range(folds)]
    return [g for g in groups if g]


def cross_fitted_calibration(cfg: TrainConfig, ceiling: float) -> CalibrationFit | None:
    """The rule for a network trained with ``cfg`` whose card threshold is ``ceiling``, fitted on
    ``cfg.rule_folds`` networks that each left a group of ``cfg``'s training videos out; None
    when no video can be left out (a lone CDnet video and no UCSD clip)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        videos = {video.key: (video, streamed)
                  for video, streamed in labelled_videos(cfg.data, Path(tmp), cfg.ucsd_weight > 0)}
        keys = [k for k in videos if k not in cfg.exclude]
        groups = rule_groups(keys, cfg.rule_folds)
        if not groups:
            log.warning("no training video can be left out to cross-fit the scene threshold "
                        "(a lone CDnet video keeps the card threshold's validation frames)")
            return None
        scenes: list[CalibrationScene] = []
        for i, group in enumerate(groups):
            inner = dataclasses.replace(cfg, exclude=tuple(cfg.exclude) + tuple(group), rule_folds=0)
            log.info("rule fold %d/%d: training without %s", i + 1, len(groups), ", ".join(group))
            fitted = fit_network(inner)
            for key in group:
                video, streamed = videos[key]
                scene = video_scene(fitted.net, video, streamed, video.first, video.last, step=SCORE_STEP)
                scenes.append(dataclasses.replace(scene, ceiling=fitted.threshold))
    fit = fit_calibration(scenes, ceiling, quantiles=CROSS_FIT_QUANTILES)
    log.info("cross-fitted rule on %d videos over %d folds in %.0f s", len(scenes), len(groups),
             time.monotonic() - started)
    return dataclasses.replace(fit, method=f"cross-fitted: {len(groups)} networks, each without "
                               "the videos it scored (whole labelled range)")
