"""Fitting the per-scene threshold rule on validation scenes."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.train.calibrate import QUANTILES, CalibrationScene, fit_calibration
from streamcd.train.validate import BINS, ThresholdCurve


def scene(name: str, statistic: float, best: float, width: float = 0.5) -> CalibrationScene:
    """A scene whose F peaks (1.0) at threshold ``best`` and falls to 0 at ``best +- width``."""
    thresholds = BINS[:-1]
    f = np.clip(1 - np.abs(thresholds - best) / width, 0, 1)
    # tp / fp / fn giving F = f: tp = f, fp = fn = 1 - f (F = 2tp / (2tp + fp + fn))
    curve = ThresholdCurve(thresholds, f[None], (1 - f)[None], (1 - f)[None], (name,))
    return CalibrationScene(name, np.full(len(QUANTILES), statistic), curve)


def test_the_fit_finds_the_scale_that_serves_quiet_scenes():
    # quiet scenes want 3x their statistic; the noisy one wants the card threshold (0.8)
    scenes = [scene("a/quiet1", 0.1, 0.3), scene("a/quiet2", 0.15, 0.45), scene("b/noisy", 0.5, 0.8)]
    fit = fit_calibration(scenes, ceiling=0.8, by_category=False)
    assert fit.rule.scale == pytest.approx(3.0, abs=0.06)
    assert fit.calibrated_f > fit.fixed_f
    assert fit.calibrated_f == pytest.approx(1.0, abs=0.02)
    assert fit.scenes == 3


def test_by_category_weighs_each_category_once():
    # ucsd: 4 clips want 2x their statistic, 1 wants 6x; cdnet: its one video wants 6x
    scenes = [scene(f"ucsd/c{i}", 0.1, 0.2, 0.05) for i in range(4)]
    scenes += [scene("ucsd/odd", 0.1, 0.6, 0.05), scene("cdnet/v", 0.1, 0.6, 0.05)]
    per_video = fit_calibration(scenes, ceiling=0.9, by_category=False)  # 4 of 6 videos: 2x
    per_category = fit_calibration(scenes, ceiling=0.9, by_category=True)  # (1/5 + 1) / 2: 6x
    assert per_video.rule.scale == pytest.approx(2.0, abs=0.11)  # candidate thresholds: 0.005 apart
    assert per_category.rule.scale == pytest.approx(6.0, abs=0.11)
    assert per_category.calibrated_f == pytest.approx((1 / 5 + 1) / 2, abs=0.15)


def test_no_scene_is_an_error():
    with pytest.raises(ValueError, match="at least one validation video"):
        fit_calibration([], ceiling=0.8)


def test_calibrate_command_stores_the_rule_and_export_carries_it(tmp_path, core_data, capsys):
    import shutil

    import torch

    from streamcd.cli import main
    from streamcd.runtime.onnx_model import ModelCard
    from streamcd.train.calibrate import SCALES
    from streamcd.train.export import export_onnx
    from tests.conftest import REPO

    checkpoint = tmp_path / "model.pt"
    shutil.copyfile(REPO / "export" / "default.pt", checkpoint)
    saved = torch.load(checkpoint, weights_only=False)
    saved.pop("scene_threshold", None)
    # a checkpoint trained without traffic and the UCSD clips: only highway is a validation scene
    ucsd = sorted(p.name.rstrip("_") for p in (core_data / "ucsd").iterdir() if p.is_dir())
    saved["train"]["exclude"] = ["cameraJitter/traffic"] + [f"ucsd/{n}" for n in ucsd]
    torch.save(saved, checkpoint)

    assert main(["calibrate", str(checkpoint), "--data", str(core_data)]) == 0
    assert "scene threshold min(card" in capsys.readouterr().out
    rule = torch.load(checkpoint, weights_only=False)["scene_threshold"]
    assert rule["quantile"] in QUANTILES and rule["scale"] in SCALES and rule["frames"] == 15
    fitted = rule["fitted_on"]
    assert fitted["scenes"] == 1 and fitted["mean_f_scene_threshold"] >= fitted["mean_f_card_threshold"]
    card = ModelCard.read(export_onnx(checkpoint, tmp_path / "out", "calibrated"))
    assert (card.calibration.quantile, card.calibration.scale) == (rule["quantile"], rule["scale"])
