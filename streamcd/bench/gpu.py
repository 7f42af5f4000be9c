"""GPU memory of this process for ``bench speed``, from ``nvidia-smi`` (None where unknown).

ONNX Runtime's Python API does not report its CUDA arena, so the driver's per-process figure is
used: everything the process holds on the GPU (CUDA context, cuDNN workspace, ORT arena,
TensorRT engines). None without ``nvidia-smi``, on CPU runs, and where the process is not
listed (a container whose PID namespace the driver does not see).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

log = logging.getLogger(__name__)

GPU_PROVIDERS = ("cuda", "tensorrt")


def gpu_memory_mb(provider: str | None, pid: int | None = None) -> float | None:
    """MiB of GPU memory held by ``pid`` (default: this process) when ``provider`` is a GPU one."""
    if provider not in GPU_PROVIDERS:
        return None
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("nvidia-smi failed, GPU memory not reported: %s", e)
        return None
    return parse_compute_apps(out, os.getpid() if pid is None else pid)


def parse_compute_apps(text: str, pid: int) -> float | None:
    """``used_memory`` (MiB) of ``pid`` in ``nvidia-smi --query-compute-apps=pid,used_memory``."""
    total = None
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 2 and fields[0] == str(pid) and fields[1].replace(".", "", 1).isdigit():
            total = (total or 0.0) + float(fields[1])  # one line per GPU the process uses
    return total


def gpu_cell(mb: float | None) -> str:
    return "n/a" if mb is None else f"{mb:.0f}"
