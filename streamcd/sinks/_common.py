"""What every file-writing sink shares: checked output folders, partial names, mask hygiene."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ..errors import SinkError
from ..frames import StreamEvent

if TYPE_CHECKING:
    from typing import Self


def prepare_dir(folder: Path, what: str) -> Path:
    """Create ``folder`` (and parents) and prove it is writable, or raise SinkError saying why."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # os.access() lies for root and on some network mounts: write a real file instead.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise _unwritable(what, folder, e.strerror or str(e)) from e
    return folder


def check_dir(folder: Path, what: str) -> None:
    """SinkError now if ``folder`` could not be created or written; unlike ``prepare_dir`` it
    creates nothing (a test file in the nearest existing folder is removed at once)."""
    folder = Path(folder)
    existing = folder
    try:
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        is_dir = existing.is_dir()
        if is_dir:
            with tempfile.TemporaryFile(dir=existing):
                pass
    except OSError as e:
        raise _unwritable(what, folder, e.strerror or str(e)) from e
    if not is_dir:
        raise _unwritable(what, folder, f"{existing} is a file, not a folder")


def check_file(path: Path, what: str) -> None:
    """``check_dir`` for the folder of the output file ``path``, which must not be a folder."""
    path = Path(path)
    if path.is_dir():
        raise SinkError(f"{what}: {path} is a folder; give the path of a file to write")
    check_dir(path.parent, what)


def _unwritable(what: str, folder: Path, reason: str) -> SinkError:
    return SinkError(
        f"{what}: cannot write to folder {folder}: {reason}; "
        "choose a path in a folder you can create and write"
    )


def partial_path(path: Path) -> Path:
    """Hidden name next to ``path`` for a file still being written (same suffix, same folder)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def binary_mask(mask: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """A mask as uint8 0/255 (any non-zero is foreground), resized to ``size`` (w, h) if given."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D HxW, got shape {mask.shape}")
    if mask.dtype == np.bool_:
        mask = mask.view(np.uint8)
    elif mask.dtype != np.uint8:
        mask = (mask != 0).view(np.uint8)
    mask = cv2.compare(mask, 0, cv2.CMP_GT)
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    return mask


class SinkBase:
    """Context-manager plumbing for sinks: ``with`` closes on every path; events are ignored."""

    @classmethod
    def check(cls, config: Any) -> None:
        """SinkError now if this sink could not write ``config.path``; creates nothing."""
        check_file(config.path, f"{config.type} sink {config.path}")

    def event(self, event: StreamEvent) -> None:
        """Record a stream event; sinks that keep no event log ignore it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replace_atomically(data: bytes, path: Path) -> None:
    """Write ``data`` under a temporary name beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise SinkError(f"cannot write {path}: {e.strerror or e}") from e
