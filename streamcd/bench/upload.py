"""The changedetection.net upload: one zip per method, and a checker of its layout rules.

Layout rules (what the site's upload takes, one results folder per video of the dataset):

1. every file is ``results/<category>/<video>/bin%06d.png``; nothing else is in the zip;
2. every video of the dataset has its folder, and no folder names a video it does not hold;
3. every input frame 1..N of a video has its ``bin%06d.png`` (warm-up frames included);
4. each is a PNG, 8-bit single channel, the size of the video's input frames;
5. its pixels are 0 or 255 only.

:func:`check_upload` lists every broken rule of a zip or a folder (empty list: good).
:func:`write_upload_zip` zips a bench's ``results/<method>`` tree (written atomically: a
temporary zip renamed once checked). Usage::

    write_upload_zip("out/bench/results/mog2", videos, "out/bench/upload/mog2.zip")
    problems = check_upload("someone_else.zip", find_videos("data/cdnet2014"))
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..cdnet_layout import CdnetVideo
from ..errors import UploadLayoutError
from .evaluate import RESULT_NAME

log = logging.getLogger(__name__)

ROOT = "results"
_FRAME = re.compile(r"bin(\d{6})\.png")
_PNG = b"\x89PNG\r\n\x1a\n"
#: Problems listed at most (a wrong zip can break every frame).
MAX_PROBLEMS = 50


@contextmanager
def _entries(path: Path) -> Iterator[dict[str, Callable[[], bytes]]]:
    """{posix path inside the zip (or below the folder holding ``results/``): bytes reader}."""
    if path.is_file():
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise UploadLayoutError(f"{path}: not a zip file ({e})") from e
        with archive:
            yield {n: (lambda n=n: archive.read(n)) for n in archive.namelist()
                   if not n.endswith("/")}
    elif path.is_dir():
        base = path.parent if path.name == ROOT else path
        yield {p.relative_to(base).as_posix(): p.read_bytes for p in path.rglob("*")
               if p.is_file()}
    else:
        raise UploadLayoutError(f"{path}: no such zip or folder")


def _png_problem(data: bytes, size: tuple[int, int]) -> str | None:
    """Rules 4 and 5 for one file's bytes; None when it passes."""
    import cv2

    if data[:8] != _PNG or len(data) < 33 or data[12:16] != b"IHDR":
        return "is not a PNG"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if (width, height) != size:
        return f"is {width}x{height}, the input frames are {size[0]}x{size[1]}"
    if depth != 8 or colour != 0:
        return f"is not 8-bit single channel (bit depth {depth}, colour type {colour})"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        return "cannot be decoded"
    values = np.unique(image)
    if not np.isin(values, (0, 255)).all():
        return f"holds values {values[~np.isin(values, (0, 255))][:5].tolist()}, only 0 and 255"
    return None


def _input_size(video: CdnetVideo) -> tuple[int, int]:
    import cv2

    image = cv2.imread(str(video.input_path(1)), cv2.IMREAD_COLOR)
    if image is None:
        raise UploadLayoutError(f"{video.input_path(1)}: cannot read the input frame")
    return image.shape[1], image.shape[0]


def check_upload(path: str | Path, videos: Sequence[CdnetVideo]) -> list[str]:
    """Every broken layout rule of the zip or ``results`` folder at ``path`` for ``videos``."""
    with _entries(Path(path)) as entries:
        problems = _check(entries, videos)
    if len(problems) > MAX_PROBLEMS:
        problems = problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more"]
    return problems


def _check(entries: dict[str, Callable[[], bytes]], videos: Sequence[CdnetVideo]) -> list[str]:
    problems: list[str] = []
    by_video: dict[str, dict[int, str]] = {}
    for name in sorted(entries):
        parts = name.split("/")
        match = _FRAME.fullmatch(parts[-1]) if len(parts) == 4 else None
        if parts[0] != ROOT or match is None:
            problems.append(f"{name}: not {ROOT}/<category>/<video>/bin%06d.png")
            continue
        by_video.setdefault(f"{parts[1]}/{parts[2]}", {})[int(match.group(1))] = name
    expected = {v.key: v for v in videos}
    problems += [f"{ROOT}/{key}/: no such video in the dataset"
                 for key in sorted(set(by_video) - set(expected))]
    for key, video in expected.items():
        frames = by_video.get(key)
        if frames is None:
            problems.append(f"{ROOT}/{key}/: missing (the upload needs every video)")
            continue
        missing = [n for n in range(1, video.count + 1) if n not in frames]
        if missing:
            problems.append(f"{ROOT}/{key}/: {len(missing)} of {video.count} frames missing "
                            f"(first {RESULT_NAME.format(missing[0])})")
        extra = sorted(n for n in frames if not 1 <= n <= video.count)
        if extra:
            problems.append(f"{ROOT}/{key}/: frames beyond the video's {video.count}: "
                            f"{RESULT_NAME.format(extra[0])}")
        size = _input_size(video)
        for n in sorted(frames):
            if len(problems) > MAX_PROBLEMS:
                return problems  # enough to say what is wrong
            problem = _png_problem(entries[frames[n]](), size)
            if problem:
                problems.append(f"{frames[n]} {problem}")
    return problems


def write_upload_zip(results: str | Path, videos: Sequence[CdnetVideo], target: str | Path
                     ) -> Path:
    """Zip ``results/<category>/<video>/bin%06d.png`` of ``videos`` into ``target``.

    Raises UploadLayoutError (and leaves no zip) when the result breaks a layout rule.
    """
    results, target = Path(results), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            for video in videos:
                for n in range(1, video.count + 1):
                    name = RESULT_NAME.format(n)
                    source = results / video.category / video.name / name
                    if source.is_file():
                        archive.write(source, f"{ROOT}/{video.key}/{name}")
        problems = check_upload(tmp, videos)
        if problems:
            raise UploadLayoutError(f"{results} cannot be uploaded as it is:\n"
                                    + "\n".join(problems))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("wrote %s (%d videos)", target, len(videos))
    return target


def write_upload_zips(result) -> list[Path]:
    """``OUT/upload/<method>.zip`` for every method of a bench result (suite.BenchResult)."""
    return [write_upload_zip(result.results_dir(m), result.videos,
                             result.out / "upload" / f"{m}.zip") for m in result.methods]
