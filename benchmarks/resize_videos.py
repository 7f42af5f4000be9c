"""Copies of CDnet-layout videos at another size: a camera of another resolution, same labels.

Input frames are resized with OpenCV's area interpolation (as a camera's own downscaling
would), ground truth and ROI by nearest neighbour (their values stay the CDnet labels);
``temporalROI.txt`` is copied. Used for the small-camera rows of docs/background-model.md:

    python benchmarks/proxy_videos.py                      # out/proxy (stand-ins)
    python benchmarks/resize_videos.py out/proxy out/small --scale 0.5 \\
        startup/highway startup/office startup/pedestrians startup/traffic \\
        leave/pedestrians leave/traffic
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

import cv2

from streamcd.cdnet_layout import ROI_FILES
from streamcd.errors import DatasetError

log = logging.getLogger("resize_videos")


def _scaled_size(image, scale: float) -> tuple[int, int]:
    """(w, h) of ``image`` times ``scale``, at least 1 pixel each."""
    return max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))


def resize_video(source: Path, target: Path, scale: float) -> int:
    """Write ``source`` (a CDnet video folder) resized by ``scale`` into ``target``; returns the
    number of input frames written."""
    if not (source / "input").is_dir():
        raise DatasetError(f"{source}: not a CDnet video folder (no input/ subfolder)")
    frames = 0
    for sub, interpolation in (("input", cv2.INTER_AREA), ("groundtruth", cv2.INTER_NEAREST)):
        if not (source / sub).is_dir():
            continue
        (target / sub).mkdir(parents=True, exist_ok=True)
        for path in sorted((source / sub).iterdir()):
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if image is None:
                continue  # not an image (a list file beside the frames)
            cv2.imwrite(str(target / sub / path.name),
                        cv2.resize(image, _scaled_size(image, scale), interpolation=interpolation))
            frames += sub == "input"
    for name in ROI_FILES:
        if not (source / name).exists():
            continue
        roi = cv2.imread(str(source / name), cv2.IMREAD_GRAYSCALE)  # OpenCV reads CDnet ROIs right
        if roi is not None:
            cv2.imwrite(str(target / name),
                        cv2.resize(roi, _scaled_size(roi, scale), interpolation=cv2.INTER_NEAREST))
    if (source / "temporalROI.txt").exists():
        shutil.copy(source / "temporalROI.txt", target / "temporalROI.txt")
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="folder of CATEGORY/VIDEO folders")
    parser.add_argument("out", type=Path, help="where the resized CATEGORY/VIDEO folders go")
    parser.add_argument("videos", nargs="+", help="CATEGORY/VIDEO keys")
    parser.add_argument("--scale", type=float, default=0.5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not 0 < args.scale <= 8:
        parser.error(f"--scale must be in (0, 8], got {args.scale}")
    for key in args.videos:
        frames = resize_video(args.dataset / key, args.out / key, args.scale)
        log.info("%s: %d frames at %.2fx", key, frames, args.scale)


if __name__ == "__main__":
    main()
