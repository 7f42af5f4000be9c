"""Classic OpenCV baselines: the registry and CDnet-style result folders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.bench import baselines
from streamcd.bench.baselines import (
    baseline_names,
    binary_mask,
    create_subtractor,
    run_baseline,
)
from streamcd.bench.evaluate import score_video
from streamcd.cdnet_layout import CdnetVideo
from streamcd.errors import ConfigError, DatasetError


def read_masks(folder):
    return {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.iterdir())}


def test_mog2_on_40_highway_frames_writes_40_binary_pngs(highway, tmp_path):
    seconds = run_baseline("mog2", CdnetVideo.open(highway), tmp_path, last=40)
    masks = read_masks(tmp_path)
    assert list(masks) == [f"bin{n:06d}.png" for n in range(1, 41)]
    for mask in masks.values():
        assert mask.shape == (240, 320) and mask.dtype == np.uint8
        assert set(np.unique(mask).tolist()) <= {0, 255}
    assert any((m == 255).any() for m in masks.values())
    assert 0 < seconds < 40


@pytest.mark.parametrize("name", ["mog2", "knn", "gsoc", "cnt"])
def test_every_baseline_runs(highway, tmp_path, name):
    run_baseline(name, CdnetVideo.open(highway), tmp_path, last=3)
    assert len(read_masks(tmp_path)) == 3


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(
        ConfigError, match="unknown baseline 'vibe'; valid names: cnt, gsoc, knn, lobster, mog2, pawcs, subsense"
    ):
        create_subtractor("vibe")
    assert issubclass(ConfigError, ValueError)


def test_shadow_127_is_background():
    np.testing.assert_array_equal(
        binary_mask(np.array([[0, 127, 200, 255]], np.uint8)), [[0, 0, 0, 255]]
    )


class Stripes:
    """A stand-in method: 255 on the left half, the 127 shadow label on the right."""

    def apply(self, image):
        mask = np.full(image.shape[:2], 127, np.uint8)
        mask[:, : image.shape[1] // 2] = 255
        return mask


def test_registered_method_runs_and_scores(monkeypatch, make_video, tmp_path):
    monkeypatch.setitem(baselines._REGISTRY, "stripes", baselines.Baseline("stripes", Stripes))
    assert "stripes" in baseline_names()
    video = make_video("cat/vid", [np.full((4, 6), 255, np.uint8)] * 3, temporal=(2, 3))
    run_baseline("stripes", video, tmp_path / "out")
    confusion = score_video(video, tmp_path / "out").confusion
    assert (confusion.tp, confusion.fn, confusion.fp) == (2 * 12, 2 * 12, 0)


@pytest.mark.parametrize("last", [0, 4])
def test_last_outside_the_video_is_rejected(make_video, tmp_path, last):
    video = make_video("cat/vid", [np.zeros((4, 6), np.uint8)] * 3)
    with pytest.raises(DatasetError, match="outside frames 1..3"):
        run_baseline("mog2", video, tmp_path / "out", last=last)
