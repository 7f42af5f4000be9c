"""Persisting a stream's reference background so that a restarted pipeline resumes with it.

Layout: ``<state_dir>/<stream>/reference.png`` (lossless) and ``state.json``. Each file is
written to a temporary file in the same folder, fsynced and renamed over the old one, so a
reader never sees a half-written file. ``state.json`` is written last and carries the PNG's
SHA-256: a crash between the two renames leaves a pair that does not match, which ``load``
rejects (a fresh start) rather than pairing a reference with the wrong metadata.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1
REFERENCE_FILE = "reference.png"
STATE_FILE = "state.json"


@dataclass(frozen=True)
class SavedState:
    """What ``state.json`` says about ``reference.png``.

    provisional: the reference is a single frame taken at a re-initialisation whose median
        was not finished yet; the manager finishes it after a restart.
    init / image: the config's ``background.init`` and picture path when it was written; a
        state written under another init is not resumed.
    """

    stream: str
    version: int
    width: int
    height: int
    frames_seen: int
    saved_at: float
    init: str
    image: str | None
    provisional: bool
    sha256: str = ""  # of reference.png; filled in by StateStore.save
    format: int = FORMAT

    @classmethod
    def from_json(cls, text: str) -> SavedState:
        """Parse and type-check; raises ValueError naming the bad field."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        types = {
            "stream": str,
            "version": int,
            "width": int,
            "height": int,
            "frames_seen": int,
            "saved_at": (int, float),
            "init": str,
            "image": (str, type(None)),
            "provisional": bool,
            "sha256": str,
        }
        for key, kind in types.items():
            if key not in data:
                raise ValueError(f"missing field {key!r}")
            value = data[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValueError(f"field {key!r} has the wrong type: {value!r}")
        if data["version"] < 1 or data["width"] < 1 or data["height"] < 1:
            raise ValueError("version, width and height must be >= 1")
        return cls(**{key: data[key] for key in (*types, "format")})


class StateStore:
    """The state folder of one stream. ``load()`` never raises on bad content; it warns."""

    def __init__(self, state_dir: Path, stream: str):
        self.dir = Path(state_dir) / stream

    @property
    def reference_path(self) -> Path:
        return self.dir / REFERENCE_FILE

    @property
    def state_path(self) -> Path:
        return self.dir / STATE_FILE

    def load(self) -> tuple[np.ndarray, SavedState] | None:
        """The persisted (reference, state), or None when absent or unusable (with a warning)."""
        if not self.state_path.exists() and not self.reference_path.exists():
            return None
        try:
            state = SavedState.from_json(self.state_path.read_text(encoding="utf-8"))
            data = self.reference_path.read_bytes()
            if hashlib.sha256(data).hexdigest() != state.sha256:
                raise ValueError(f"{REFERENCE_FILE} does not match the checksum in {STATE_FILE}")
            reference = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            if reference is None:
                raise ValueError(f"{REFERENCE_FILE} cannot be decoded")
            expected = (state.height, state.width, 3)
            if reference.shape != expected or reference.dtype != np.uint8:
                raise ValueError(
                    f"{REFERENCE_FILE} is {reference.dtype} {reference.shape}, "
                    f"{STATE_FILE} says uint8 {expected}"
                )
        except (OSError, ValueError, TypeError) as e:
            log.warning(
                "%s: ignoring the persisted background (%s); starting fresh. Delete the "
                "folder to silence this warning.",
                self.dir,
                e,
            )
            return None
        return reference, state

    def save(self, reference: np.ndarray, state: SavedState) -> None:
        """Write both files atomically (reference first); raises OSError when the disk refuses."""
        ok, png = cv2.imencode(".png", reference, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise OSError(f"{self.reference_path}: OpenCV could not encode the reference as PNG")
        data = png.tobytes()
        state = SavedState(**{**asdict(state), "sha256": hashlib.sha256(data).hexdigest()})
        self.dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.reference_path, data)
        _write_atomic(self.state_path, (json.dumps(asdict(state), indent=2) + "\n").encode())
        _fsync_dir(self.dir)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(path: Path) -> None:
    # Makes the renames durable on POSIX; directories cannot be opened this way on Windows.
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
