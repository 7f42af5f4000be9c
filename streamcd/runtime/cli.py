"""``streamcd fp16``: model variants made from a card with ONNX Runtime's tools (no torch)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_model_commands(sub: argparse._SubParsersAction) -> None:
    fp = sub.add_parser("fp16", help="write a float16 variant of a model card (GPU speed)")
    fp.add_argument("--model", type=Path, default=None, help="model card (default: the shipped model)")
    fp.add_argument("--out", type=Path, default=Path("export"))
    fp.add_argument("--name", default=None, help="card name (default: <model name>-fp16)")
    fp.set_defaults(func=_cmd_fp16)


def _cmd_fp16(args) -> int:
    from .assets import resolve_card
    from .fp16 import fp16_card

    card = fp16_card(resolve_card(args.model), args.out, args.name)
    print(f"model card: {card} (float16 weights and compute; inputs and outputs unchanged)")
    return 0
