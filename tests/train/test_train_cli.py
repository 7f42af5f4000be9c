"""``streamcd train`` builds the TrainConfig its options say (the training itself is stubbed)."""

from __future__ import annotations

import pytest

from streamcd.cli import main


def test_train_options_reach_the_config(tmp_path, monkeypatch):
    (tmp_path / "cdnet2014").mkdir()
    seen = []
    monkeypatch.setattr("streamcd.train.loop.train", lambda cfg: seen.append(cfg) or tmp_path / "c.pt")
    code = main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--max-steps", "5",
                 "--exclude", "baseline/highway", "ucsd/birds", "--widths", "8", "16", "32",
                 "--embed", "8", "16", "24", "--tau", "0.2", "--no-mlso", "--threads", "1",
                 "--temporal-mean", "1", "--bank-threshold", "0.45"])
    assert code == 0
    (cfg,) = seen
    assert cfg.exclude == ("baseline/highway", "ucsd/birds") and cfg.max_steps == 5
    assert cfg.net.widths == (8, 16, 32) and cfg.net.embed == (8, 16, 24)
    assert cfg.tau == 0.2 and cfg.net.side_weights == (0.0, 0.0, 1.0) and cfg.threads == 1
    assert cfg.temporal_mean == 1 and cfg.bank_threshold == 0.45


def test_the_card_averages_two_frames_by_default(tmp_path, monkeypatch):
    (tmp_path / "cdnet2014").mkdir()
    seen = []
    monkeypatch.setattr("streamcd.train.loop.train", lambda cfg: seen.append(cfg) or tmp_path / "c.pt")
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run")]) == 0
    assert seen[0].temporal_mean == 2


@pytest.mark.parametrize(("argv", "error"), [
    (["train", "--rule-folds", "4"], "unrecognized arguments: --rule-folds 4"),
    (["calibrate", "c.pt"], "invalid choice: 'calibrate'"),
])
def test_the_removed_per_scene_rule_commands_are_refused(tmp_path, capsys, argv, error):
    (tmp_path / "cdnet2014").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--data", str(tmp_path)])
    assert exit_info.value.code == 2  # argparse: a usage error
    assert error in capsys.readouterr().err


def test_train_without_a_dataset_says_where_to_point(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path)]) != 0
    assert "no cdnet2014/ folder" in capsys.readouterr().err


def test_a_temporal_mean_outside_1_to_16_is_refused(tmp_path, capsys):
    (tmp_path / "cdnet2014").mkdir()
    assert main(["train", "--data", str(tmp_path), "--temporal-mean", "0"]) != 0
    assert "--temporal-mean 0: give 1 (each frame alone) to 16" in capsys.readouterr().err


def test_a_bank_threshold_outside_0_to_2_is_refused(tmp_path, capsys):
    (tmp_path / "cdnet2014").mkdir()
    assert main(["train", "--data", str(tmp_path), "--bank-threshold", "2.5"]) != 0
    assert "--bank-threshold 2.5: give a distance in (0, 2)" in capsys.readouterr().err
