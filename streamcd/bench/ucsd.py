"""The UCSD background-subtraction videos as a CDnet-layout tree, so they are run and scored alike.

UCSD keeps ``<name>_/<name>/in/frame_<N>.jpg`` (N not zero-padded: sorted numerically),
``groundtruth/gt%04d.png`` (0/255), ``ROI.bmp`` and ``temporalROI.txt`` in UCSD numbers (rain
starts at 75). :func:`ucsd_to_cdnet` writes ``<out>/ucsd/<name>/input/in%06d.jpg`` and
``groundtruth/gt%06d.png`` renumbered from 1 in the same order, shifts temporalROI by the same
offset and links (or copies) the files unchanged. Usage::

    root = ucsd_to_cdnet("../shared/data/ucsd", tmp / "ucsd-cdnet", names=["birds", "boats"])
    videos = find_videos(root)          # ucsd/birds, ucsd/boats

UCSD clips have no warm-up frames (temporalROI starts at their first frame), so the streamcd
background falls back to a median of the first stream frames.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from ..errors import DatasetError

log = logging.getLogger(__name__)

#: Category name of the converted videos.
UCSD_CATEGORY = "ucsd"
_NUMBER = re.compile(r"frame_(\d+)\.jpg$")


def ucsd_names(ucsd_root: str | Path) -> list[str]:
    """Names of the UCSD clips under ``ucsd_root`` (``<name>_/<name>/in``), sorted."""
    return sorted(p.parent.name for p in Path(ucsd_root).glob("*_/*/in") if p.is_dir())


def ucsd_to_cdnet(ucsd_root: str | Path, out: str | Path,
                  names: Iterable[str] | None = None) -> Path:
    """Write the CDnet-layout tree of the UCSD clips ``names`` (default all) into ``out``.

    Returns ``out`` (the dataset root holding the ``ucsd`` category). Files are hard- or
    symbolically linked when possible, copied otherwise; an existing converted video is replaced.
    """
    ucsd_root, out = Path(ucsd_root), Path(out)
    available = ucsd_names(ucsd_root)
    if not available:
        raise DatasetError(f"{ucsd_root}: no UCSD clip (<name>_/<name>/in/frame_N.jpg)")
    selected = list(names) if names is not None else available
    unknown = sorted(set(selected) - set(available))
    if unknown:
        raise DatasetError(f"UCSD clip(s) {', '.join(unknown)} not in {ucsd_root}; "
                           f"available: {', '.join(available)}")
    for name in selected:
        _convert(ucsd_root / f"{name}_" / name, out / UCSD_CATEGORY / name)
    return out


def _convert(clip: Path, target: Path) -> None:
    frames = []
    for path in (clip / "in").glob("frame_*.jpg"):
        match = _NUMBER.search(path.name)
        if match:
            frames.append((int(match[1]), path))
    frames.sort()
    if not frames:
        raise DatasetError(f"{clip}/in: no frame_N.jpg")
    numbers = [n for n, _ in frames]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        raise DatasetError(f"{clip}/in: frame numbers {numbers[0]}..{numbers[-1]} have gaps")
    offset = numbers[0] - 1  # UCSD number n becomes CDnet number n - offset
    if target.exists():
        shutil.rmtree(target)
    (target / "input").mkdir(parents=True)
    (target / "groundtruth").mkdir()
    for n, path in frames:
        gt = clip / "groundtruth" / f"gt{n:04d}.png"
        if not gt.is_file():
            raise DatasetError(f"{clip}: frame_{n}.jpg has no groundtruth {gt.name}")
        link_or_copy(path, target / "input" / f"in{n - offset:06d}.jpg")
        link_or_copy(gt, target / "groundtruth" / f"gt{n - offset:06d}.png")
    if (clip / "ROI.bmp").is_file():
        link_or_copy(clip / "ROI.bmp", target / "ROI.bmp")
    first, last = numbers[0], numbers[-1]
    roi_file = clip / "temporalROI.txt"
    if roi_file.is_file():
        try:
            first, last = (int(v) for v in roi_file.read_text().split()[:2])
        except ValueError as e:
            raise DatasetError(f"{roi_file}: expected two integers 'first last'") from e
    first, last = max(first, numbers[0]) - offset, min(last, numbers[-1]) - offset
    (target / "temporalROI.txt").write_text(f"{first} {last}\n")
    log.info("%s -> %s: %d frames, temporalROI %d..%d (offset %d)", clip, target, len(frames),
             first, last, offset)


def link_or_copy(source: Path, target: Path) -> None:
    """``target`` becomes a hard link to ``source``, else a symbolic link, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        try:
            target.symlink_to(source.resolve())
        except OSError:
            shutil.copyfile(source, target)
