"""ray stays optional: ``import streamcd`` does not load it, and without it the Ray backend says
how to install it (these tests run with or without ray installed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streamcd.cli import main
from streamcd.cluster import INSTALL_HINT, ClusterError, import_ray


def test_import_streamcd_does_not_import_ray():
    code = ("import sys, streamcd, streamcd.cli, streamcd.cluster, streamcd.cluster.ray_backend; "
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # ``import ray`` raises ModuleNotFoundError


def test_missing_ray_names_the_extra(no_ray):
    with pytest.raises(ClusterError, match="streamcd\\[ray\\]"):
        import_ray()


def test_cli_without_ray_exits_1_with_the_hint(no_ray, tmp_path, capsys):
    yaml = tmp_path / "run.yaml"
    yaml.write_text("streams: [{name: cam, source: {type: video, path: clip.mp4}}]\n")
    assert main(["run", str(yaml), "--backend", "ray"]) == 1
    assert INSTALL_HINT in capsys.readouterr().err
