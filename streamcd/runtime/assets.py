"""Where the shipped models live: the repo's ``export/`` folder, installed as ``streamcd.models``."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError


def shipped_models_dir() -> Path:
    """The folder holding the shipped model cards (``*.json``) and ONNX graphs.

    Installed: ``streamcd/models/`` (setup.cfg maps the repo's ``export/`` there). Source
    checkout or editable install: the repo's ``export/``.
    """
    package = Path(__file__).resolve().parents[1]
    for folder in (package / "models", package.parent / "export"):
        if any(folder.glob("*.json")):
            return folder
    raise ModelError("the shipped models folder is missing: reinstall streamcd (pip install .)")


def shipped_models() -> list[str]:
    return sorted(p.stem for p in shipped_models_dir().glob("*.json"))


def resolve_card(path: str | Path | None, name: str = "default") -> Path:
    """The model card JSON for a user path (card file or folder holding one) or a shipped name."""
    if path is None:
        card = shipped_models_dir() / f"{name}.json"
        if not card.exists():
            raise ModelError(
                f"no shipped model named {name!r}; available: {', '.join(shipped_models()) or 'none'}"
            )
        return card
    p = Path(path)
    if p.is_dir():
        cards = sorted(p.glob("*.json"))
        if len(cards) != 1:
            raise ModelError(f"{p}: expected exactly one model card (*.json) in the folder, found {len(cards)}")
        return cards[0]
    if not p.exists():
        raise ModelError(f"{p}: model card not found (give a NAME.json written by 'streamcd export')")
    return p
