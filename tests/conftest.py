"""Shared fixtures: generated clips with known ground truth, and the real data in ../shared."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def square_frames(n: int, size=(160, 120), square=24, seed=0):
    """Frames of a textured static background with a bright square moving left to right.

    Returns (frames BGR uint8 list, masks list of HxW bool with the square's true position).
    """
    w, h = size
    rng = np.random.default_rng(seed)
    background = cv2_blur(rng.integers(40, 120, (h, w, 3), dtype=np.uint8))
    frames, masks = [], []
    for i in range(n):
        img = background.copy()
        x = int(4 + (w - square - 8) * i / max(n - 1, 1))
        y = (h - square) // 2
        img[y : y + square, x : x + square] = (40, 220, 250)
        mask = np.zeros((h, w), bool)
        mask[y : y + square, x : x + square] = True
        frames.append(img)
        masks.append(mask)
    return frames, masks


def wait_until(predicate, timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 20 ms; fail the test naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def cv2_blur(img):
    import cv2

    return cv2.GaussianBlur(img, (0, 0), 3)


def write_clip(path: Path, frames, fps: int = 25, options: dict[str, str] | None = None) -> Path:
    """Encode BGR frames to H.264 (yuv420p) with PyAV; ``options`` go to the muxer."""
    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture
def square_clip(tmp_path):
    """An H.264 MP4 of 40 frames 160x120 with a moving square; returns (path, frames, masks)."""
    frames, masks = square_frames(40)
    return write_clip(tmp_path / "square.mp4", frames), frames, masks


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real CDnet and UCSD video); skips the test when it is absent."""
    if not (SHARED_DATA / "cdnet2014").is_dir():
        pytest.skip(f"real-data test: {SHARED_DATA} is absent (it sits beside the repo checkout)")
    return SHARED_DATA


#: The videos the training tests were written for: tests that train or fit on a data folder use
#: exactly these (``core_data``), so new videos in ../shared change neither results nor run time.
CORE_VIDEOS = ("cdnet2014/baseline/highway", "cdnet2014/cameraJitter/traffic")


@pytest.fixture(scope="session")
def core_data(shared_data, tmp_path_factory) -> Path:
    """A data folder of links to highway, traffic and the UCSD clips of ../shared/data, nothing else."""
    root = tmp_path_factory.mktemp("core_data")
    for rel in (*CORE_VIDEOS, "ucsd"):
        target = shared_data / rel
        if not target.is_dir():
            pytest.skip(f"real-data test: {target} is absent")
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def highway(shared_data) -> Path:
    return shared_data / "cdnet2014" / "baseline" / "highway"


@pytest.fixture(scope="session")
def traffic(shared_data) -> Path:
    return shared_data / "cdnet2014" / "cameraJitter" / "traffic"
