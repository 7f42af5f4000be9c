"""benchmarks/error_split.py: misses and false positives by kind, on a generated CDnet video
whose result masks are drawn so that every count is known."""

from __future__ import annotations

import importlib.util
import sys

import cv2
import numpy as np
import pytest

from streamcd.cdnet_layout import CdnetVideo
from tests.conftest import REPO

FRAMES, FIRST = 6, 3


@pytest.fixture(scope="module")
def error_split():
    spec = importlib.util.spec_from_file_location("error_split", REPO / "benchmarks" / "error_split.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture()
def video_and_results(tmp_path):
    """60x80 frames: an object (GT 255) at rows 10..19, columns 10..19, its shadow (GT 50) at
    rows 20..24, an unknown band (GT 170) in row 0. The result marks the object's left half,
    the whole shadow, a 2-pixel band right of the object (beside it) and a 3x3 block far away,
    and a pixel of the unknown band (not scored)."""
    root = tmp_path / "cdnet" / "baseline" / "cam"
    (root / "input").mkdir(parents=True)
    (root / "groundtruth").mkdir()
    results = tmp_path / "out" / "results" / "streamcd" / "baseline" / "cam"
    results.mkdir(parents=True)
    for n in range(1, FRAMES + 1):
        cv2.imwrite(str(root / "input" / f"in{n:06d}.jpg"), np.full((60, 80, 3), 128, np.uint8))
        gt = np.zeros((60, 80), np.uint8)
        gt[0] = 170
        gt[10:20, 10:20] = 255
        gt[20:25, 10:20] = 50
        cv2.imwrite(str(root / "groundtruth" / f"gt{n:06d}.png"), gt)
        mask = np.zeros((60, 80), np.uint8)
        mask[10:20, 10:15] = 255   # 50 true positives, 50 misses
        mask[20:25, 10:20] = 255   # 50 on the shadow
        mask[10:20, 20:22] = 255   # 20 beside the object
        mask[40:43, 60:63] = 255   # 9 elsewhere
        mask[0, 40] = 255          # unknown: not scored
        cv2.imwrite(str(results / f"bin{n:06d}.png"), mask)
    (root / "temporalROI.txt").write_text(f"{FIRST} {FRAMES}\n")
    return CdnetVideo.open(root), results


def test_each_error_is_counted_once_by_kind(error_split, video_and_results):
    video, results = video_and_results
    split = error_split.split_video(video, results, near=4)
    frames = FRAMES - FIRST + 1
    assert (split.tp, split.fn) == (50 * frames, 50 * frames)
    assert (split.fp_shadow, split.fp_near, split.fp_elsewhere) == (50 * frames, 20 * frames, 9 * frames)
    assert split.f_measure == pytest.approx(100 / (100 + 129))
    assert split.f_without_shadow_fp() == pytest.approx(100 / (100 + 79))


def test_a_smaller_reach_moves_far_enough_pixels_to_elsewhere(error_split, video_and_results):
    video, results = video_and_results
    split = error_split.split_video(video, results, near=1)  # the band's second column is 2 px away
    frames = FRAMES - FIRST + 1
    assert (split.fp_near, split.fp_elsewhere) == (10 * frames, 19 * frames)
