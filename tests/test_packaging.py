"""setup.cfg lists packages by hand (export/ is mapped to streamcd.models): keep the list whole."""

from __future__ import annotations

import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "streamcd").rglob("__init__.py")}
    assert found - listed == set(), "add these to [options] packages in setup.cfg"
    assert "streamcd.models" in listed  # the shipped model (export/)
