"""Scoring results folders: real CDnet frames, temporal ranges, averaging and report output."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from streamcd.bench.evaluate import Report, read_groundtruth, score_results, score_video
from streamcd.bench.scoring import Metrics
from streamcd.cdnet_layout import CdnetVideo
from streamcd.errors import DatasetError

H, W = 6, 8


def gt_frame(motion_px: int = 0, shadow_px: int = 0) -> np.ndarray:
    """A 6x8 GT frame: the first ``motion_px`` pixels 255, the next ``shadow_px`` 50, rest 0."""
    gt = np.zeros(H * W, np.uint8)
    gt[:motion_px] = 255
    gt[motion_px : motion_px + shadow_px] = 50
    return gt.reshape(H, W)


def perfect(gt: np.ndarray) -> np.ndarray:
    return np.where(gt == 255, 255, 0).astype(np.uint8)


@pytest.mark.parametrize(
    ("video_name", "frames"),
    [("highway", (800, 804)), ("traffic", (1000, 1004))],  # traffic: 352x240 ROI.bmp defect
)
def test_groundtruth_as_prediction_is_perfect(request, tmp_path, video_name, frames):
    video = CdnetVideo.open(request.getfixturevalue(video_name))
    for n in range(frames[0], frames[1] + 1):
        gt = read_groundtruth(video.groundtruth_path(n))
        cv2.imwrite(str(tmp_path / f"bin{n:06d}.png"), perfect(gt))
    score = score_video(video, tmp_path, frames)
    assert score.frames == frames
    assert score.confusion.tp > 0 and score.confusion.fp == score.confusion.fn == 0
    m = score.metrics
    assert (m.f_measure, m.precision, m.recall, m.pwc) == (1.0, 1.0, 1.0, 0.0)


def test_traffic_roi_size_defect_gives_full_frame_roi(traffic):
    assert CdnetVideo.open(traffic).roi_mask((320, 240)).all()


def test_groundtruth_decodes_to_palette_indices(highway):
    image = pytest.importorskip("PIL.Image")
    for n in (1, 900):  # 85 before the temporalROI; 0/50/170/255 inside it
        path = CdnetVideo.open(highway).groundtruth_path(n)
        with image.open(path) as im:
            assert im.mode == "P"
            indices = np.asarray(im)
        np.testing.assert_array_equal(read_groundtruth(path), indices)


@pytest.fixture
def ten_frames(make_video):
    """10 frames with temporalROI 4..7; frame n has n motion pixels and 2 shadow pixels."""
    return make_video("cat/vid", [gt_frame(n, 2) for n in range(1, 11)], temporal=(4, 7))


def test_only_the_temporal_roi_is_read(ten_frames, make_results):
    # results exist for frames 4..7 only: frames outside the range must not be needed
    results = make_results("cat/vid", {n: perfect(gt_frame(n)) for n in range(4, 8)})
    score = score_video(ten_frames, results)
    assert score.frames == (4, 7)
    assert score.confusion.tp == 4 + 5 + 6 + 7
    assert score.confusion.total == 4 * H * W
    assert score.metrics.f_measure == 1.0


def test_a_missing_frame_inside_the_range_is_named(ten_frames, make_results):
    results = make_results("cat/vid", {n: perfect(gt_frame(n)) for n in (4, 5, 6)})
    with pytest.raises(DatasetError, match="bin000007.png is missing"):
        score_video(ten_frames, results)


def test_explicit_frames_override_the_temporal_roi(ten_frames, make_results):
    results = make_results("cat/vid", {9: perfect(gt_frame(9)), 10: np.zeros((H, W), np.uint8)})
    score = score_video(ten_frames, results, frames=(9, 10))
    assert (score.confusion.tp, score.confusion.fn) == (9, 10)


@pytest.mark.parametrize("frames", [(0, 3), (5, 11), (7, 4)])
def test_frames_outside_the_video_are_rejected(ten_frames, tmp_path, frames):
    with pytest.raises(DatasetError, match="the video has frames 1..10"):
        score_video(ten_frames, tmp_path, frames)


def test_invalid_groundtruth_value_names_frame_and_value(make_video, make_results):
    bad = gt_frame(3)
    bad[2, 2] = 128
    video = make_video("cat/vid", [gt_frame(1), bad])
    results = make_results("cat/vid", {1: gt_frame(), 2: gt_frame()})
    with pytest.raises(DatasetError, match=r"cat/vid frame 2: .*\[128\]"):
        score_video(video, results)


def test_roi_zero_pixels_are_not_scored(make_video, make_results):
    roi = np.zeros((H, W), np.uint8)
    roi[:, : W // 2] = 255
    video = make_video("cat/vid", [gt_frame(H * W)], roi=roi)
    results = make_results("cat/vid", {1: np.zeros((H, W), np.uint8)})
    assert score_video(video, results).confusion.fn == H * W // 2


def test_a_wrong_sized_roi_with_a_shape_is_rejected(make_video, make_results):
    roi = np.zeros((H, W + 2), np.uint8)
    roi[:, :3] = 255
    video = make_video("cat/vid", [gt_frame(1)], roi=roi)
    results = make_results("cat/vid", {1: gt_frame()})
    with pytest.raises(DatasetError, match="ROI is 10x6 but frames are 8x6"):
        score_video(video, results)


@pytest.fixture
def two_categories(make_video, make_results):
    """A/a1: F=1; A/a2: half the motion found (F=2/3); B/b1: Pr=1/2, Re=1 (F=2/3).

    Every video has 2 frames, temporalROI 1..2 (no file), 8 motion pixels per frame.
    """
    half = gt_frame(4)
    doubled = gt_frame(16)
    for key, masks in {"A/a1": gt_frame(8), "A/a2": half, "B/b1": doubled}.items():
        make_video(key, [gt_frame(8), gt_frame(8)])
        make_results(key, {1: perfect(masks), 2: perfect(masks)})


def test_category_and_overall_are_means_of_means(two_categories, tmp_path):
    report = score_results(tmp_path / "dataset", tmp_path / "results")
    videos = {v.key: v.metrics for v in report.videos}
    assert videos["A/a1"].f_measure == 1.0
    assert videos["A/a2"].recall == 0.5 and videos["A/a2"].f_measure == pytest.approx(2 / 3)
    assert videos["B/b1"].precision == 0.5 and videos["B/b1"].f_measure == pytest.approx(2 / 3)
    a, b = report.categories
    assert (a.category, a.videos, b.category) == ("A", ("a1", "a2"), "B")
    assert a.metrics.f_measure == pytest.approx((1 + 2 / 3) / 2)
    assert a.metrics == Metrics.mean([videos["A/a1"], videos["A/a2"]])
    assert a.confusion.tp == 16 + 8
    # overall: mean over categories (5/6 and 2/3), not over the three videos
    assert report.overall.f_measure == pytest.approx(((1 + 2 / 3) / 2 + 2 / 3) / 2)
    assert report.overall.recall == pytest.approx(((1 + 0.5) / 2 + 1) / 2)


def test_score_results_selects_videos_and_frames(two_categories, tmp_path):
    report = score_results(
        tmp_path / "dataset", tmp_path / "results", videos=["B/b1"], frames_fn=lambda v: (2, 2)
    )
    assert [v.key for v in report.videos] == ["B/b1"]
    assert report.videos[0].frames == (2, 2)
    assert report.overall == report.videos[0].metrics


def test_unknown_video_lists_the_available_ones(two_categories, tmp_path):
    with pytest.raises(DatasetError, match="available: A/a1, A/a2, B/b1"):
        score_results(tmp_path / "dataset", tmp_path / "results", videos=["A/zz"])


def test_missing_results_folder_is_named(two_categories, tmp_path):
    with pytest.raises(DatasetError, match="results folder .*B.*b1 not found"):
        score_results(tmp_path / "dataset", tmp_path / "elsewhere", videos=["B/b1"])


def test_report_json_and_markdown(make_video, make_results, tmp_path):
    make_video("C/empty", [gt_frame(0)])  # no motion: recall undefined
    make_results("C/empty", {1: gt_frame()})
    report = score_results(tmp_path / "dataset", tmp_path / "results")
    data = json.loads(report.to_json())
    assert data["videos"]["C/empty"]["metrics"]["recall"] is None
    assert data["videos"]["C/empty"]["confusion"]["tn"] == H * W
    assert data["overall"]["specificity"] == 1.0
    table = report.to_markdown()
    assert "| C/empty | 1..1 | n/a |" in table
    assert "**overall** (mean of 1)" in table
    assert math.isnan(report.overall.recall)


def test_empty_report_is_an_error():
    with pytest.raises(DatasetError):
        Report.from_scores([])
