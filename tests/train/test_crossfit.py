"""Cross-fitting the per-scene threshold rule on networks that never saw the scored videos."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from streamcd.train.calibrate import QUANTILES, fit_calibration
from streamcd.train.crossfit import CROSS_FIT_QUANTILES, cross_fitted_calibration, rule_groups
from streamcd.train.loop import TrainConfig, _jsonable
from streamcd.train.net import NetConfig
from tests.train.test_calibrate import scene


def ucsd_clips(data: Path) -> list[str]:
    """The UCSD clip names under ``data/ucsd`` (folders ``<name>_``), sorted."""
    return sorted(p.name.rstrip("_") for p in (data / "ucsd").iterdir() if p.is_dir())


KEYS = ["baseline/highway", "cameraJitter/traffic", "dynamicBackground/fall"] + [
    f"ucsd/clip{i}" for i in range(9)]


@pytest.mark.parametrize("folds", [2, 3, 4, 5])
def test_rule_groups_deal_every_video_once_and_keep_a_cdnet_video_in_training(folds):
    groups = rule_groups(KEYS, folds)
    dealt = [k for g in groups for k in g]
    assert sorted(dealt) == sorted(KEYS) and len(groups) == folds
    cdnet = {k for k in KEYS if not k.startswith("ucsd/")}
    for group in groups:
        assert cdnet - set(group), f"{group} leaves no CDnet video to validate on"


def test_a_lone_cdnet_video_is_never_left_out():
    keys = ["baseline/highway", "ucsd/a", "ucsd/b", "ucsd/c"]
    groups = rule_groups(keys, 2)
    assert sorted(k for g in groups for k in g) == ["ucsd/a", "ucsd/b", "ucsd/c"]


def test_fewer_than_two_folds_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        rule_groups(KEYS, 1)


def test_each_scene_is_capped_by_the_threshold_of_the_network_that_scored_it():
    # F peaks at 0.6; the fit's ceiling (0.9) would allow it, the scene's own (0.3) does not
    capped = dataclasses.replace(scene("ucsd/a", 0.2, 0.6, 0.3), ceiling=0.3)
    free = scene("ucsd/a", 0.2, 0.6, 0.3)
    assert fit_calibration([free], ceiling=0.9).calibrated_f == pytest.approx(1.0, abs=0.02)
    fit = fit_calibration([capped], ceiling=0.9)
    assert fit.calibrated_f == pytest.approx(0.0, abs=0.02)  # 0.3 is a width away from 0.6
    assert fit.fixed_f == pytest.approx(0.0, abs=0.02)


def test_the_cross_fit_offers_only_the_lower_quantiles():
    # a scene that only q0.999's statistic serves: its statistic per quantile grows 10x per step
    s = scene("ucsd/a", 0.0, 0.5, 0.05)
    s = dataclasses.replace(s, statistics=np.array([0.001, 0.002, 0.004, 0.25]))
    assert fit_calibration([s], ceiling=0.9).rule.quantile == 0.999
    assert fit_calibration([s], ceiling=0.9, quantiles=CROSS_FIT_QUANTILES).rule.quantile in (0.9, 0.95)
    assert set(CROSS_FIT_QUANTILES) <= set(QUANTILES)


def test_train_config_survives_the_checkpoint_record():
    cfg = TrainConfig(data=Path("/d"), out=Path("/o"), max_steps=7, exclude=("ucsd/a",), rule_folds=3,
                      net=NetConfig(widths=(8, 16, 32), embed=(8, 16, 24)))
    record = {**_jsonable(dataclasses.asdict(cfg)), "steps": 7, "seconds": 1.0}
    assert TrainConfig.from_record(record) == cfg
    old = {k: v for k, v in record.items() if k not in ("rule_folds", "reference_median")}
    assert TrainConfig.from_record(old).rule_folds == 0  # an older checkpoint: today's default


def test_no_scored_video_was_seen_by_the_network_that_scored_it(core_data, tmp_path, monkeypatch):
    from streamcd.train import crossfit

    ucsd = ucsd_clips(core_data)
    kept = ucsd[:3]
    exclude = tuple(f"ucsd/{n}" for n in ucsd[3:])
    trained, scored = [], []
    fit_network, video_scene = crossfit.fit_network, crossfit.video_scene

    def recording_fit(cfg):
        trained.append(cfg.exclude)
        return fit_network(cfg)

    def recording_scene(net, video, *args, **kwargs):
        scored.append((video.key, trained[-1]))
        return video_scene(net, video, *args, **kwargs)

    monkeypatch.setattr(crossfit, "fit_network", recording_fit)
    monkeypatch.setattr(crossfit, "video_scene", recording_scene)
    cfg = TrainConfig(data=core_data, out=tmp_path, max_steps=10, minutes=2, threads=2, exclude=exclude,
                      rule_folds=2, net=NetConfig(widths=(8, 16, 32), embed=(8, 16, 24)))
    fit = cross_fitted_calibration(cfg, ceiling=0.8)

    expected = {"baseline/highway", "cameraJitter/traffic", *(f"ucsd/{n}" for n in kept)}
    assert {key for key, _ in scored} == expected and len(scored) == len(expected) == fit.scenes
    assert len(trained) == 2
    for key, excluded in scored:
        assert key in excluded and set(exclude) <= set(excluded)
    assert fit.rule.quantile in CROSS_FIT_QUANTILES and fit.method.startswith("cross-fitted: 2 networks")


def test_calibrate_command_cross_fits_and_records_it(core_data, tmp_path, capsys):
    import torch

    from streamcd.cli import main
    from tests.conftest import REPO

    checkpoint = tmp_path / "model.pt"
    shutil.copyfile(REPO / "export" / "default.pt", checkpoint)
    saved = torch.load(checkpoint, weights_only=False)
    ucsd = ucsd_clips(core_data)
    saved["train"].update(exclude=[f"ucsd/{n}" for n in ucsd[2:]], max_steps=10, threads=2)
    torch.save(saved, checkpoint)

    assert main(["calibrate", str(checkpoint), "--data", str(core_data), "--rule-folds", "2"]) == 0
    assert "fitted on cross-fitted: 2 networks" in capsys.readouterr().out
    after = torch.load(checkpoint, weights_only=False)
    assert after["train"]["rule_folds"] == 2
    assert after["scene_threshold"]["fitted_on"]["scenes"] == 4  # highway, traffic, 2 clips
    assert after["scene_threshold"]["quantile"] in CROSS_FIT_QUANTILES
    weights = saved["state_dict"]
    assert all(torch.equal(after["state_dict"][k], weights[k]) for k in weights)  # only the rule moved


def test_nothing_to_leave_out_gives_no_cross_fit(core_data, tmp_path, caplog):
    ucsd = ucsd_clips(core_data)
    cfg = TrainConfig(data=core_data, out=tmp_path, rule_folds=4,
                      exclude=("cameraJitter/traffic", *(f"ucsd/{n}" for n in ucsd)))
    with caplog.at_level("WARNING", logger="streamcd.train.crossfit"):
        assert cross_fitted_calibration(cfg, ceiling=0.8) is None  # no network trained either
    assert "no training video can be left out" in caplog.text
