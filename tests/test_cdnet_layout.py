"""The CDnet layout with the image formats of datasets converted to it: PNG/BMP input frames,
BMP groundtruth, ROI.png; one clear error for folders it cannot read."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.bench.evaluate import score_video
from streamcd.cdnet_layout import CdnetVideo
from streamcd.errors import DatasetError
from streamcd.sources import CdnetSource

H, W, N = 24, 32, 6


def _frames() -> list[np.ndarray]:
    """N distinct colour frames: a bright square moving over a textured background."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 200, (H, W, 3), dtype=np.uint8)
    frames = []
    for n in range(N):
        image = background.copy()
        image[4:12, 2 + 4 * n:10 + 4 * n] = 250
        frames.append(image)
    return frames


def _truth(n: int) -> np.ndarray:
    gt = np.zeros((H, W), np.uint8)
    gt[4:12, 2 + 4 * n:10 + 4 * n] = 255
    gt[12:14, 2 + 4 * n:10 + 4 * n] = 50  # a shadow under it
    return gt


def _video(root, input_suffix: str, label_suffix: str, roi_name: str | None = None):
    folder = root / f"{input_suffix[1:]}-{label_suffix[1:]}" / "video"
    (folder / "input").mkdir(parents=True)
    (folder / "groundtruth").mkdir()
    for n, image in enumerate(_frames(), start=1):
        cv2.imwrite(str(folder / "input" / f"in{n:06d}{input_suffix}"), image)
        cv2.imwrite(str(folder / "groundtruth" / f"gt{n:06d}{label_suffix}"), _truth(n - 1))
    (folder / "temporalROI.txt").write_text(f"2 {N}\n")
    if roi_name is not None:
        roi = np.full((H, W), 255, np.uint8)
        roi[:, W // 2:] = 0  # only the left half is scored
        cv2.imwrite(str(folder / roi_name), roi)
    return folder


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif"])
def test_lossless_input_frames_are_read_exactly(tmp_path, suffix):
    folder = _video(tmp_path, suffix, ".png")
    video = CdnetVideo.open(folder)
    assert (video.suffix, video.count, video.first, video.last) == (suffix, N, 2, N)
    with CdnetSource(folder) as source:
        frames = list(source)
    assert [f.number for f in frames] == list(range(1, N + 1))
    for frame, image in zip(frames, _frames()):
        assert np.array_equal(frame.image, image)


def test_bmp_groundtruth_and_png_roi_score_as_the_cdnet_formats(tmp_path):
    cdnet = CdnetVideo.open(_video(tmp_path, ".jpg", ".png", "ROI.bmp"))
    other = CdnetVideo.open(_video(tmp_path, ".png", ".bmp", "ROI.png"))
    assert other.groundtruth_path(3).suffix == ".bmp"
    results = tmp_path / "results"
    results.mkdir()
    for n in range(1, N + 1):  # the square found, its shadow taken for it, one false pixel
        mask = np.where(_truth(n - 1) > 0, 255, 0).astype(np.uint8)
        mask[20, 1] = 255
        cv2.imwrite(str(results / f"bin{n:06d}.png"), mask)
    a, b = score_video(cdnet, results).confusion, score_video(other, results).confusion
    assert a == b
    assert a.fp > 0 and a.fn == 0 and a.tp > 0
    # the ROI is read from ROI.png: only the left half counts
    assert other.roi_mask((W, H))[:, W // 2:].sum() == 0 and other.roi_mask((W, H)).any()


def test_frames_in_two_formats_are_refused_with_the_counts(tmp_path):
    folder = _video(tmp_path, ".jpg", ".png")
    cv2.imwrite(str(folder / "input" / f"in{N + 1:06d}.png"), _frames()[0])
    with pytest.raises(DatasetError, match=r"more than one format \(6 \.jpg, 1 \.png\)"):
        CdnetVideo.open(folder)


def test_a_folder_without_frames_names_the_formats_it_reads(tmp_path):
    (tmp_path / "video" / "input").mkdir(parents=True)
    (tmp_path / "video" / "input" / "notes.txt").write_text("no frames here")
    (tmp_path / "video" / "input" / "input_list.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"no in%06d frames \(\.jpg, \.png"):
        CdnetVideo.open(tmp_path / "video")
