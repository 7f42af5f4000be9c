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


def test_gpu_extras_bring_their_cuda_libraries():
    """onnxruntime-gpu finds pip-installed CUDA/cuDNN only through its [cuda,cudnn] extras
    (>= 1.21, which also has preload_dlls); the CUDA 12 and 13 builds are separate extras."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    extras = cfg["options.extras_require"]
    assert extras["gpu"].split() == ["onnxruntime-gpu[cuda,cudnn]>=1.27"]
    assert extras["gpu-cu12"].split() == ["onnxruntime-gpu[cuda,cudnn]>=1.21,<1.27"]
    assert "onnxruntime-gpu" not in extras["cpu"]  # never both onnxruntime packages


def test_live_page_files_are_package_data():
    """streamcd serve reads its page from the installed package: static/ must ship."""
    from fnmatch import fnmatch

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    patterns = [p.strip() for p in cfg["options.package_data"]["streamcd.serve"].split(",")]
    serve = REPO / "streamcd" / "serve"
    files = [str(p.relative_to(serve)) for p in (serve / "static").iterdir()]
    assert {"static/index.html", "static/app.js", "static/style.css"} <= set(files)
    assert [f for f in files if not any(fnmatch(f, p) for p in patterns)] == []


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = next(line.strip() for line in ci.splitlines() if line.startswith("python3 -m venv"))
    assert command in readme and "serve" in command  # the browser and server tests need it
