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
    if p.suffix.lower() != ".json":
        raise ModelError(not_a_card(p))
    return p


def not_a_card(path: Path) -> str:
    """The message for a model path that is not a card (an ``.onnx`` graph, a ``.pt`` checkpoint).

    Names the card beside it when there is one: ``default.encoder.onnx`` -> ``default.json``.
    """
    message = (f"{path}: not a model card; model.path (or --model) wants the model card .json "
               "written by 'streamcd export' (it names the encoder and head .onnx files), or the "
               "folder holding it")
    card = sibling_card(path)
    return message + (f"; use {card}" if card else "")


def sibling_card(path: Path) -> Path | None:
    """``<name>.json`` beside ``path`` for each leading part of its file name, longest first."""
    parts = path.name.split(".")
    for n in range(max(len(parts) - 1, 1), 0, -1):
        card = path.with_name(".".join(parts[:n]) + ".json")
        if card != path and card.is_file():
            return card
    return None
