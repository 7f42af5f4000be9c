"""benchmarks/proxy_videos.py: the stand-in videos keep the CDnet layout and their ground truth.

Run on a generated CDnet tree (a textured scene with a square moving along one band), so these
tests need nothing from ../shared.
"""

from __future__ import annotations

import importlib.util
from itertools import pairwise

import cv2
import numpy as np
import pytest

from streamcd.cdnet_layout import CdnetVideo
from tests.conftest import REPO


@pytest.fixture(scope="module")
def proxy():
    spec = importlib.util.spec_from_file_location("proxy_videos", REPO / "benchmarks" / "proxy_videos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FRAMES, FIRST = 40, 10


@pytest.fixture()
def cdnet(tmp_path):
    """baseline/cam: 40 frames 64x48, an 8x8 square moving right along rows 20..27 (columns
    10..47 in the temporalROI 10..40)."""
    video = tmp_path / "cdnet" / "baseline" / "cam"
    (video / "input").mkdir(parents=True)
    (video / "groundtruth").mkdir()
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (48, 64, 3)).astype(np.uint8), (0, 0), 1.5)
    for number in range(1, FRAMES + 1):
        image, truth = scene.copy(), np.zeros((48, 64), np.uint8)
        x = number
        image[20:28, x:x + 8] = 255
        truth[20:28, x:x + 8] = 255
        cv2.imwrite(str(video / "input" / f"in{number:06d}.jpg"), image)
        cv2.imwrite(str(video / "groundtruth" / f"gt{number:06d}.png"), truth)
    cv2.imwrite(str(video / "ROI.bmp"), np.full((48, 64), 255, np.uint8))
    (video / "temporalROI.txt").write_text(f"{FIRST} {FRAMES}\n")
    return tmp_path / "cdnet"


def read(path, flags=cv2.IMREAD_COLOR):
    return cv2.imread(str(path), flags).astype(np.int16)


def test_startup_starts_a_third_into_the_temporal_roi_and_scores_everything(proxy, cdnet, tmp_path):
    proxy.startup(cdnet, tmp_path / "out")
    video = CdnetVideo.open(tmp_path / "out" / "startup" / "cam")
    start = FIRST + (FRAMES - FIRST) // 3
    assert (video.count, video.first, video.last) == (FRAMES - start + 1, 1, FRAMES - start + 1)
    source = cdnet / "baseline" / "cam"
    assert (video.root / "input" / "in000001.jpg").read_bytes() == \
        (source / "input" / f"in{start:06d}.jpg").read_bytes()
    assert (video.root / "groundtruth" / f"gt{video.count:06d}.png").read_bytes() == \
        (source / "groundtruth" / f"gt{FRAMES:06d}.png").read_bytes()


def test_sway_moves_only_what_is_never_foreground_and_keeps_the_ground_truth(proxy, cdnet, tmp_path):
    proxy.sway(cdnet, tmp_path / "out")
    source, swayed = cdnet / "baseline" / "cam", tmp_path / "out" / "sway" / "cam"
    video = CdnetVideo.open(swayed)
    assert (video.count, video.first, video.last) == (FRAMES, FIRST, FRAMES)
    far, near = [], []
    for number in range(1, FRAMES + 1):
        name = f"in{number:06d}.jpg"
        difference = np.abs(read(swayed / "input" / name) - read(source / "input" / name)).mean(axis=2)
        far.append(difference[:8].mean())  # rows 0..7: 12+ pixels from the square's band
        near.append(difference[20:28, 16:48].mean())  # where the square moves in the temporalROI
        truth = f"gt{number:06d}.png"
        assert np.array_equal(read(swayed / "groundtruth" / truth, cv2.IMREAD_GRAYSCALE),
                              read(source / "groundtruth" / truth, cv2.IMREAD_GRAYSCALE))
    assert np.mean(far) > 5  # the textured background sways
    assert max(near) < 3  # what moves (and around it) is only re-encoded


def test_leaves_churn_faster_than_sway_and_keep_the_ground_truth(proxy, cdnet, tmp_path):
    proxy.sway(cdnet, tmp_path / "out")
    proxy.leaves(cdnet, tmp_path / "out")
    source = cdnet / "baseline" / "cam"

    def churn(category: str) -> tuple[float, float]:
        folder = tmp_path / "out" / category / "cam"
        frames = [read(folder / "input" / f"in{n:06d}.jpg") for n in range(1, FRAMES + 1)]
        step = np.mean([np.abs(b - a)[:8].mean() for a, b in pairwise(frames)])
        near = max(np.abs(f - read(source / "input" / f"in{n:06d}.jpg"))[20:28, 16:48].mean()
                   for n, f in enumerate(frames, 1))
        return step, near

    sway_step, sway_near = churn("sway")
    leaves_step, leaves_near = churn("leaves")
    assert leaves_step > 2 * sway_step  # a new fine-grained field every 2 frames
    assert max(sway_near, leaves_near) < 3  # what moves (and around it) is only re-encoded
    truth = f"gt{FRAMES:06d}.png"
    assert np.array_equal(read(tmp_path / "out" / "leaves" / "cam" / "groundtruth" / truth, cv2.IMREAD_GRAYSCALE),
                          read(source / "groundtruth" / truth, cv2.IMREAD_GRAYSCALE))


def test_short_windows_open_on_much_foreground_and_are_scored_whole(proxy, tmp_path, monkeypatch):
    # 60 frames; frame n shows a bar (n * 37) % 50 pixels wide: windows must open on wide bars
    video = tmp_path / "cdnet" / "baseline" / "bars"
    (video / "input").mkdir(parents=True)
    (video / "groundtruth").mkdir()
    widths = {n: (n * 37) % 50 for n in range(1, 61)}
    for n, width in widths.items():
        image, truth = np.full((48, 64, 3), 90, np.uint8), np.zeros((48, 64), np.uint8)
        image[10:30, :width], truth[10:30, :width] = 200, 255
        cv2.imwrite(str(video / "input" / f"in{n:06d}.jpg"), image)
        cv2.imwrite(str(video / "groundtruth" / f"gt{n:06d}.png"), truth)
    cv2.imwrite(str(video / "ROI.bmp"), np.full((48, 64), 255, np.uint8))
    (video / "temporalROI.txt").write_text("5 60\n")
    monkeypatch.setattr(proxy, "SHORT_LENGTH", 20)
    proxy.short(tmp_path / "cdnet", tmp_path / "out")
    starts = []
    for k, at in enumerate(proxy.SHORT_AT, start=1):
        window = CdnetVideo.open(tmp_path / "out" / "short" / f"bars{k}")
        assert (window.count, window.first, window.last) == (20, 1, 20)
        first = cv2.imread(str(window.root / "groundtruth" / "gt000001.png"), cv2.IMREAD_GRAYSCALE)
        opened = int((first == 255).sum()) // 20  # the bar's width
        look = 5 + int(at * (41 - 5))  # the last start that leaves 20 frames is 41
        candidates = [widths[n] for n in range(look, min(look + 150, 42), 5)]
        assert opened == max(candidates)
        start = next(n for n in range(look, 42, 5) if widths[n] == opened)
        starts.append(start)
        for offset in (0, 19):  # consecutive frames of the source
            name = f"in{start + offset:06d}.jpg"
            assert (window.root / "input" / f"in{offset + 1:06d}.jpg").read_bytes() == \
                (video / "input" / name).read_bytes()
    assert starts == sorted(starts)


def test_foliage_switches_the_background_between_two_looks_and_keeps_the_ground_truth(proxy, cdnet, tmp_path):
    proxy.foliage(cdnet, tmp_path / "out")
    source, leafy = cdnet / "baseline" / "cam", tmp_path / "out" / "foliage" / "cam"
    video = CdnetVideo.open(leafy)
    assert (video.count, video.first, video.last) == (FRAMES, FIRST, FRAMES)
    covered, flips, near = [], [], []
    previous = None
    for number in range(1, FRAMES + 1):
        name = f"in{number:06d}.jpg"
        changed = np.abs(read(leafy / "input" / name) - read(source / "input" / name)).sum(axis=2)[:8] > 60
        covered.append(changed.mean())
        if previous is not None:
            flips.append((changed != previous).mean())
        previous = changed
        near.append(np.abs(read(leafy / "input" / name) - read(source / "input" / name))[20:28, 16:48].mean())
        truth = f"gt{number:06d}.png"
        assert np.array_equal(read(leafy / "groundtruth" / truth, cv2.IMREAD_GRAYSCALE),
                              read(source / "groundtruth" / truth, cv2.IMREAD_GRAYSCALE))
    assert 0.2 < np.mean(covered) < 0.8  # about half of what is never foreground is behind leaves
    assert np.mean(flips) > 0.05  # and the leaves move from frame to frame
    assert max(near) < 3  # what moves (and around it) is only re-encoded
