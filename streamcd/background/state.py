"""Persisting a stream's reference background so that a restarted pipeline resumes with it.

Layout: ``<state_dir>/<stream>/reference.png`` (lossless) and ``state.json``. Each file is
written to a temporary file in the same folder, fsynced and renamed over the old one, so a
reader never sees a half-written file. ``state.json`` is written last and carries the PNG's
SHA-256: a crash between the two renames leaves a pair that does not match, which ``load``
rejects (a fresh start) rather than pairing a reference with the wrong metadata. With the
feature bank on, ``bank.npz`` (samples and per-pixel state) is written first, tagged with the
reference version; a bank of another version is not resumed (a new one is built instead).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from ..durable import write_atomic
from .bank import BankSettings, FeatureBank

log = logging.getLogger(__name__)

FORMAT = 1
REFERENCE_FILE = "reference.png"
BANK_FILE = "bank.npz"
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

    @property
    def bank_path(self) -> Path:
        return self.dir / BANK_FILE

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

    def load_bank(self, version: int) -> FeatureBank | None:
        """The persisted feature bank of reference ``version``, or None (none saved, damaged, or
        of another version after a crash between the writes: a new one is then built)."""
        if not self.bank_path.exists():
            return None
        try:
            bank, saved_version = load_bank(self.bank_path.read_bytes())
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("%s: ignoring the persisted feature bank (%s); a new one is built", self.dir, e)
            return None
        return bank if saved_version == version else None

    def save(self, reference: np.ndarray, state: SavedState, bank: FeatureBank | None = None) -> None:
        """Write the files atomically (bank, reference, then state); OSError when the disk refuses."""
        ok, png = cv2.imencode(".png", reference, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise OSError(f"{self.reference_path}: OpenCV could not encode the reference as PNG")
        data = png.tobytes()
        state = SavedState(**{**asdict(state), "sha256": hashlib.sha256(data).hexdigest()})
        self.dir.mkdir(parents=True, exist_ok=True)
        if bank is not None:
            write_atomic(self.bank_path, dump_bank(bank, state.version))
        else:
            self.bank_path.unlink(missing_ok=True)
        write_atomic(self.reference_path, data)
        write_atomic(self.state_path, (json.dumps(asdict(state), indent=2) + "\n").encode())
        _fsync_dir(self.dir)


def dump_bank(bank: FeatureBank, version: int) -> bytes:
    """The bank's samples, running mean, blink map and settings as .npz bytes, tagged with ``version``."""
    buffer = io.BytesIO()
    arrays = {f"side{i}": s for i, s in enumerate(bank.samples)}
    meta = {"version": version, "frames": bank.frames, "base": bank.base,
            "settings": asdict(bank.settings)}
    if bank.colours is not None:
        arrays["colours"] = bank.colours
    np.savez(buffer, mean=bank.mean, blink=bank.blink, meta=np.array(json.dumps(meta)), **arrays)
    return buffer.getvalue()


def load_bank(data: bytes) -> tuple[FeatureBank, int]:
    """Inverse of :func:`dump_bank`: (bank, reference version); ValueError/KeyError when damaged."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        sides = sorted((k for k in npz.files if k.startswith("side")), key=lambda k: int(k[4:]))
        samples = tuple(np.array(npz[k]) for k in sides)
        colours = np.array(npz["colours"]) if "colours" in npz.files else None
        blink = np.array(npz["blink"]) if "blink" in npz.files else None  # older files: none yet
        bank = FeatureBank(samples, BankSettings(**meta["settings"]), meta["base"],
                           mean=np.array(npz["mean"]), frames=int(meta["frames"]), colours=colours,
                           blink=blink)
    return bank, int(meta["version"])


def _fsync_dir(path: Path) -> None:
    # Makes the renames durable on POSIX; directories cannot be opened this way on Windows.
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
