"""GPU memory in ``bench speed``: nvidia-smi's per-process figure, 'n/a' on CPU."""

from __future__ import annotations

import shutil

import pytest

from streamcd.bench.gpu import gpu_cell, gpu_memory_mb, parse_compute_apps
from streamcd.bench.report import speed_markdown
from streamcd.bench.runner import MethodRun, StageSeconds

SMI = """\
1234, 512
99, 2048
1234, 300
"""


@pytest.mark.parametrize(
    ("text", "pid", "expected"),
    [
        (SMI, 99, 2048.0),
        (SMI, 1234, 812.0),  # the process on two GPUs: summed
        (SMI, 5, None),  # not listed (no GPU work, or another PID namespace)
        ("", 99, None),  # no compute process at all
        ("99, [N/A]\n", 99, None),  # the driver cannot tell (some vGPUs, MIG)
    ],
)
def test_parse_compute_apps(text, pid, expected):
    assert parse_compute_apps(text, pid) == expected


@pytest.mark.parametrize("provider", ["cpu", None])
def test_cpu_runs_have_no_gpu_memory(provider):
    assert gpu_memory_mb(provider) is None and gpu_cell(None) == "n/a"


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="nvidia-smi is present here")
def test_gpu_provider_without_nvidia_smi_is_unknown():
    assert gpu_memory_mb("cuda") is None


def _run(method: str, provider: str | None, gpu: float | None, seconds: StageSeconds) -> MethodRun:
    return MethodRun(method, "clip.mp4", 100, seconds, 1.0, 200.0, provider, gpu_memory_mb=gpu)


def test_speed_table_shows_gpu_memory_and_mog2_ratio():
    model_s = StageSeconds(decode=0.2, background=0.1, inference=0.5, postprocess=0.05, write=0.1)
    mog2_s = StageSeconds(decode=0.2, background=0.06, postprocess=0.005, write=0.1)
    runs = [_run("streamcd", "cuda", 850.0, model_s), _run("mog2", None, None, mog2_s)]
    table = speed_markdown(runs).splitlines()
    header, rule, model, mog2 = table
    assert header.count("|") == rule.count("|") == model.count("|") == mog2.count("|")
    assert "| GPU MB |" in header and "x mog2 time" in header
    assert "| 850 |" in model and model.endswith(" 10.00 |")  # compute 6.5 ms vs MOG2's 0.65
    assert "| n/a |" in mog2 and mog2.endswith(" 1.00 |")
