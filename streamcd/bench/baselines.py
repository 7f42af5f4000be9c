"""Classic background subtractors as CDnet baselines, resolved by name through one table.

Every baseline runs with its library defaults. SuBSENSE, LOBSTER and PAWCS come from
bgslibrary (``pybgs``, the optional ``bench`` extra); without it they are listed as unavailable
(:func:`unavailable_reason`) and the bench skips them. Only mask value 255 is foreground: the 127
shadow label of MOG2 and KNN counts as background, as the CDnet comparator reads it.

Adding a method is one :func:`register_baseline` call with a factory returning an object with
``apply(image_bgr) -> mask`` (OpenCV's BackgroundSubtractor habit); name the optional module
it imports in ``requires`` so that a missing one is skipped with an install hint::

    register_baseline("vibe", lambda: pybgs_vibe(), "ViBe (bgslibrary)", requires="pybgs")

Usage::

    video = CdnetVideo.open("data/cdnet2014/baseline/highway")
    seconds = run_baseline("mog2", video, "out/mog2/baseline/highway")  # frames 1..1700
    score = score_video(video, "out/mog2/baseline/highway", video.heldout_range())
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..cdnet_layout import CdnetVideo
from ..errors import BaselineUnavailableError, ConfigError, DatasetError, SinkError
from .evaluate import RESULT_NAME

logger = logging.getLogger(__name__)


class Subtractor(Protocol):
    """What a baseline must offer: OpenCV's ``BackgroundSubtractor.apply``."""

    def apply(self, image: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Baseline:
    """A registered method: ``factory()`` builds a fresh subtractor for one video."""

    name: str
    factory: Callable[[], Subtractor]
    description: str = ""
    requires: str | None = None  # importable module the factory needs (optional dependency)
    opencv_threads: int | None = None  # OpenCV threads while it runs; None: OpenCV's default


_REGISTRY: dict[str, Baseline] = {}


def register_baseline(name: str, factory: Callable[[], Subtractor], description: str = "",
                      requires: str | None = None, opencv_threads: int | None = None) -> None:
    """Add a method to the table (a later registration under the same name replaces it).

    requires: a module the factory imports (e.g. "pybgs"); when it is not installed the method
    is reported by :func:`unavailable_reason` instead of failing at run time.
    opencv_threads: OpenCV's thread count while the method runs (1 for a method whose masks
    depend on thread scheduling); None leaves OpenCV's default.
    """
    _REGISTRY[name] = Baseline(name, factory, description, requires, opencv_threads)


def baseline_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def get_baseline(name: str) -> Baseline:
    """The registered method ``name``; ConfigError listing the valid names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown baseline {name!r}; valid names: {', '.join(baseline_names())}"
        ) from None


def unavailable_reason(name: str) -> str | None:
    """Why baseline ``name`` cannot run here (with an install hint), or None when it can."""
    import importlib.util

    baseline = get_baseline(name)
    if baseline.requires and importlib.util.find_spec(baseline.requires) is None:
        return (f"{name} needs {baseline.requires}, which is not installed: "
                f"apt-get install libopencv-dev cmake && pip install 'streamcd[bench]' "
                f"(builds bgslibrary from source, several minutes)")
    return None


def create_subtractor(name: str) -> Subtractor:
    """A fresh subtractor for ``name``; an unknown name is a ConfigError listing the valid ones."""
    baseline = get_baseline(name)
    reason = unavailable_reason(name)
    if reason:
        raise BaselineUnavailableError(reason)
    _fresh_random_state(baseline)
    return baseline.factory()


def _fresh_random_state(baseline: Baseline) -> None:
    """Start from the random state of a fresh process, so that the masks depend on the video
    only: not on earlier runs in the same process (a reused Ray worker, ``--in-process``), nor
    on how threads were scheduled."""
    import ctypes

    import cv2

    cv2.setNumThreads(-1 if baseline.opencv_threads is None else baseline.opencv_threads)
    cv2.setRNGSeed(0)  # OpenCV's RNG (KNN); seed 0 gives a fresh process's state
    try:  # libc's rand() (bgslibrary: SuBSENSE, LOBSTER, PAWCS); 1 is the C default seed
        ctypes.CDLL(None).srand(1)
    except (OSError, AttributeError) as e:
        logger.debug("cannot reset libc's rand(): %s", e)


def _mog2() -> Subtractor:
    import cv2

    return cv2.createBackgroundSubtractorMOG2()


def _knn() -> Subtractor:
    import cv2

    return cv2.createBackgroundSubtractorKNN()


def _gsoc() -> Subtractor:
    import cv2

    return cv2.bgsegm.createBackgroundSubtractorGSOC()


def _cnt() -> Subtractor:
    import cv2

    return cv2.bgsegm.createBackgroundSubtractorCNT()


register_baseline("mog2", _mog2, "OpenCV MOG2 (Zivkovic 2004/2006), shadows -> background")
register_baseline("knn", _knn, "OpenCV KNN (Zivkovic 2006), shadows -> background")
# GSOC draws random samples from one OpenCV RNG per worker thread: on several threads its
# masks change from run to run (measured on highway), on one they do not.
register_baseline("gsoc", _gsoc, "OpenCV contrib bgsegm GSOC (GSoC 2017)", opencv_threads=1)
register_baseline("cnt", _cnt, "OpenCV contrib bgsegm CNT (Zeevi 2016)")


def _bgs(algorithm: str) -> Callable[[], Subtractor]:
    """A bgslibrary algorithm; it reads/writes ``./config/<algorithm>.xml`` in the working
    directory, so run it where no other run shares that directory (the bench's workers do)."""

    def factory() -> Subtractor:
        import pybgs

        return getattr(pybgs, algorithm)()

    return factory


register_baseline("subsense", _bgs("SuBSENSE"), "SuBSENSE (St-Charles 2015), bgslibrary", "pybgs")
register_baseline("lobster", _bgs("LOBSTER"), "LOBSTER (St-Charles 2014), bgslibrary", "pybgs")
register_baseline("pawcs", _bgs("PAWCS"), "PAWCS (St-Charles 2016), bgslibrary", "pybgs")


def binary_mask(mask: np.ndarray) -> np.ndarray:
    """0/255 uint8: 255 where ``mask`` is exactly 255, 0 elsewhere (shadow 127 included)."""
    return np.where(mask == 255, np.uint8(255), np.uint8(0))


def run_baseline(
    name: str, video: CdnetVideo, out_dir: str | Path, last: int | None = None
) -> float:
    """Run baseline ``name`` on ``video`` frames 1..``last`` (default: all) in order.

    Writes ``out_dir/bin%06d.png`` (0/255) for every frame, warm-up frames included, as CDnet
    requires. Returns the seconds spent in the subtractor's ``apply`` only (no decoding, no
    PNG writing), so ``seconds / frames`` is the method's own cost.
    """
    import cv2

    subtractor = create_subtractor(name)
    end = video.count if last is None else last
    if not 1 <= end <= video.count:
        raise DatasetError(f"{video.key}: last={last} is outside frames 1..{video.count}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spent = 0.0
    for n in range(1, end + 1):
        path = video.input_path(n)
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"input frame {path} is missing or cannot be decoded")
        start = time.perf_counter()
        mask = subtractor.apply(image)
        spent += time.perf_counter() - start
        target = out_dir / RESULT_NAME.format(n)
        if not cv2.imwrite(str(target), binary_mask(mask)):
            raise SinkError(f"cannot write {target}: check that {out_dir} is writable")
    logger.info("%s on %s: %d frames, %.2f ms/frame", name, video.key, end, 1000 * spent / end)
    return spent
