"""``streamcd bench cdnet`` end to end on a short real CDnet video, through the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import pytest

from streamcd.bench import baselines
from streamcd.bench.evaluate import score_results
from streamcd.bench.suite import BenchOptions, check_methods, run_bench
from streamcd.cdnet_layout import CdnetVideo
from streamcd.cli import main
from tests.bench.conftest import cut_video

# highway frames 421..560 renumbered 1..140; its temporalROI start 470 becomes 50. Scored
# (held-out) frames: 109..140; validation (training range) frames: 50..58.
START, COUNT, FIRST = 421, 140, 50
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def short_highway(highway, tmp_path_factory):
    """A CDnet dataset root holding ``baseline/highway`` cut to 140 real frames (hard links)."""
    root = tmp_path_factory.mktemp("cdnet")
    cut_video(highway, root, "baseline/highway", START, COUNT, FIRST)
    return root


@pytest.fixture(scope="module")
def bench_out(short_highway, tmp_path_factory):
    """One CLI bench run (worker processes, progress bars, plots) with streamcd and MOG2."""
    out = tmp_path_factory.mktemp("bench")
    code = main(["bench", "cdnet", "--dataset", str(short_highway), "--methods",
                 "streamcd,mog2", "--out", str(out), "--pr-frames", "5", "--threads", "1",
                 "--score-frames", "heldout"])
    assert code == 0
    return out


def test_results_cover_every_frame_in_cdnet_format(bench_out):
    for method in ("streamcd", "mog2"):
        folder = bench_out / "results" / method / "baseline" / "highway"
        names = sorted(p.name for p in folder.glob("bin*.png"))
        assert names == [f"bin{n:06d}.png" for n in range(1, COUNT + 1)]
        mask = cv2.imread(str(folder / names[-1]), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (240, 320) and set(mask.ravel().tolist()) <= {0, 255}


def test_report_numbers_match_the_evaluator(bench_out, short_highway):
    report = json.loads((bench_out / "report.json").read_text())
    assert report["protocol"]["scored_frames"] == "heldout"
    for method in ("streamcd", "mog2"):
        expected = score_results(short_highway, bench_out / "results" / method,
                                 frames_fn=CdnetVideo.heldout_range).to_dict()
        assert report["methods"][method]["scores"] == expected
        assert expected["videos"]["baseline/highway"]["frames"] == [109, 140]
        f = expected["overall"]["f_measure"]
        assert f"| {method} | {f:.4f} |" in (bench_out / "report.md").read_text()


def test_report_speed_split_and_ratios(bench_out):
    report = json.loads((bench_out / "report.json").read_text())
    model, mog2 = report["methods"]["streamcd"], report["methods"]["mog2"]
    ms = model["speed"]["ms_per_frame"]
    assert ms["inference"] > 0 and ms["decode"] > 0 and ms["write"] > 0
    assert ms["compute"] == pytest.approx(ms["background"] + ms["inference"] + ms["postprocess"])
    assert mog2["speed"]["ms_per_frame"]["inference"] == 0
    assert model["speed"]["frames"] == COUNT and model["speed"]["fps"] > 0
    assert model["speed"]["peak_rss_mb"] > 10
    ratio = model["compute_time_ratio"]["mog2"]
    assert ratio == pytest.approx(ms["compute"] / mog2["speed"]["ms_per_frame"]["compute"])
    assert model["compute_time_ratio"]["subsense"] is None  # not run


def test_pr_curve_uses_validation_frames_only(bench_out):
    curve = json.loads((bench_out / "report.json").read_text())["pr_curve"]
    frames = curve["frames"]["baseline/highway"]
    assert frames and all(FIRST <= n <= 58 for n in frames)  # training range, before 109
    threshold = json.loads((REPO / "export" / "default.json").read_text())["threshold"]
    assert curve["card_threshold"] == pytest.approx(threshold)
    assert abs(curve["at_card_threshold"]["threshold"] - threshold) <= 0.01
    recall = [r for r in curve["recall"] if r is not None]
    assert recall == sorted(recall, reverse=True)  # recall falls as the threshold rises


def test_plots_are_written_and_linked(bench_out):
    report = json.loads((bench_out / "report.json").read_text())
    names = {os.path.basename(p) for p in report["plots"]}
    assert {"f_by_category.png", "f_vs_fps.png", "pr_curve.png",
            "samples_baseline_highway.png"} <= names
    for p in report["plots"]:
        assert cv2.imread(str(bench_out / p)) is not None
        assert f"]({p})" in (bench_out / "report.md").read_text()


def test_score_cli_agrees_with_the_bench(bench_out, short_highway, tmp_path):
    out = tmp_path / "score.json"
    assert main(["bench", "score", "--dataset", str(short_highway), "--results",
                 str(bench_out / "results" / "mog2"), "--heldout", "--json", str(out)]) == 0
    report = json.loads((bench_out / "report.json").read_text())
    assert json.loads(out.read_text()) == report["methods"]["mog2"]["scores"]


def test_missing_optional_library_is_skipped_with_a_reason(short_highway, tmp_path, monkeypatch):
    monkeypatch.setattr(baselines, "_REGISTRY", dict(baselines._REGISTRY))
    baselines.register_baseline("needs_missing", lambda: None, "test only",
                                requires="no_such_module_xyz")
    methods, skipped = check_methods(["mog2", "needs_missing"])
    assert methods == ("mog2",)
    assert "no_such_module_xyz" in skipped["needs_missing"]
    result = run_bench([CdnetVideo.open(short_highway / "baseline" / "highway")], tmp_path,
                       BenchOptions(methods=("mog2", "needs_missing"), isolate=False,
                                    plots=False))
    assert result.methods == ["mog2"] and "needs_missing" in result.skipped
