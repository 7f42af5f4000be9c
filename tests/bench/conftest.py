"""Fixtures for the bench tests: tiny CDnet trees written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streamcd.cdnet_layout import CdnetVideo


def write_video(
    root: Path,
    key: str,
    groundtruth: list[np.ndarray],
    temporal: tuple[int, int] | None = None,
    roi: np.ndarray | None = None,
) -> CdnetVideo:
    """A CDnet video folder ``root/<key>`` with one grey input frame per groundtruth frame."""
    folder = root / key
    (folder / "input").mkdir(parents=True)
    (folder / "groundtruth").mkdir()
    for n, gt in enumerate(groundtruth, start=1):
        cv2.imwrite(
            str(folder / "input" / f"in{n:06d}.jpg"), np.full((*gt.shape, 3), 128, np.uint8)
        )
        cv2.imwrite(str(folder / "groundtruth" / f"gt{n:06d}.png"), gt)
    if temporal is not None:
        (folder / "temporalROI.txt").write_text(f"{temporal[0]} {temporal[1]}\n")
    if roi is not None:
        cv2.imwrite(str(folder / "ROI.bmp"), roi)
    return CdnetVideo.open(folder)


def write_results(folder: Path, masks: dict[int, np.ndarray]) -> Path:
    """``folder/bin%06d.png`` for each frame number in ``masks``."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, mask in masks.items():
        cv2.imwrite(str(folder / f"bin{n:06d}.png"), mask)
    return folder


@pytest.fixture
def make_video(tmp_path):
    """``make_video(key, groundtruth, temporal=None, roi=None)`` in ``tmp_path/dataset``."""

    def make(key, groundtruth, temporal=None, roi=None):
        return write_video(tmp_path / "dataset", key, groundtruth, temporal, roi)

    return make


@pytest.fixture
def make_results(tmp_path):
    """``make_results(key, {n: mask})`` writes ``tmp_path/results/<key>/bin%06d.png``."""

    def make(key, masks):
        return write_results(tmp_path / "results" / key, masks)

    return make


def cut_video(source: Path, root: Path, key: str, start: int, count: int, first: int) -> Path:
    """``root/key``: frames start..start+count-1 of the real CDnet video ``source`` renumbered
    from 1 (hard links), with temporalROI ``first count``."""
    import os

    folder = root / key
    (folder / "input").mkdir(parents=True)
    (folder / "groundtruth").mkdir()
    for n in range(1, count + 1):
        src = start + n - 1
        os.link(source / "input" / f"in{src:06d}.jpg", folder / "input" / f"in{n:06d}.jpg")
        os.link(source / "groundtruth" / f"gt{src:06d}.png",
                folder / "groundtruth" / f"gt{n:06d}.png")
    if (source / "ROI.bmp").exists():
        os.link(source / "ROI.bmp", folder / "ROI.bmp")
    (folder / "temporalROI.txt").write_text(f"{first} {count}\n")
    return folder


def square_video(root: Path, key: str, frames: int = 60, size=(160, 120), seed: int = 0,
                 first: int = 10) -> CdnetVideo:
    """A generated CDnet video ``root/key``: a square moving over a textured background, its
    true mask as groundtruth (255 / 0), temporalROI ``first frames``."""
    from tests.conftest import square_frames

    images, masks = square_frames(frames, size=size, seed=seed)
    gts = [np.where(m, 255, 0).astype(np.uint8) for m in masks]
    video = write_video(root, key, gts, (first, frames))
    for n, image in enumerate(images, start=1):
        cv2.imwrite(str(video.input_path(n)), image)
    return video
