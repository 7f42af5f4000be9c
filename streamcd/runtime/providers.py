"""ONNX Runtime execution-provider choice, verified against what the session really got.

A CUDA or TensorRT session silently falls back to CPU when their libraries are missing, so the
provider is always read back from ``session.get_providers()``.
"""

from __future__ import annotations

import logging

from ..errors import ProviderError

log = logging.getLogger(__name__)

ORT_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


def import_ort():
    """Import onnxruntime with an install hint when it is missing."""
    try:
        import onnxruntime
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ProviderError(
            "onnxruntime is not installed: pip install 'streamcd[cpu]' (or 'streamcd[gpu]' for CUDA)"
        ) from e
    return onnxruntime


def requested_providers(choice: str) -> list[str]:
    """ORT provider list for ``auto | tensorrt | cuda | cpu`` (CPU always last as a fallback)."""
    ort = import_ort()
    available = set(ort.get_available_providers())
    if choice == "auto":
        wanted = [ORT_NAMES["cuda"]] if ORT_NAMES["cuda"] in available else []
    elif choice in ("cuda", "tensorrt"):
        chain = ["tensorrt", "cuda"] if choice == "tensorrt" else ["cuda"]
        wanted = [ORT_NAMES[c] for c in chain]
        missing = [w for w in wanted if w not in available]
        if missing:
            raise ProviderError(
                f"provider {choice!r} asked for, but this onnxruntime build offers only "
                f"{sorted(available)}; install 'streamcd[gpu]' (onnxruntime-gpu) on a machine with "
                "an NVIDIA GPU, or use provider: auto / cpu"
            )
    elif choice == "cpu":
        wanted = []
    else:
        raise ProviderError(f"unknown provider {choice!r}; use one of auto, tensorrt, cuda, cpu")
    return wanted + [ORT_NAMES["cpu"]]


def short_name(ort_name: str) -> str:
    for short, full in ORT_NAMES.items():
        if full == ort_name:
            return short
    return ort_name


def check_provider(choice: str, used: list[str]) -> str:
    """Short name of the provider a session really runs on; fail when an explicit GPU ask fell back."""
    actual = short_name(used[0]) if used else "cpu"
    if choice in ("cuda", "tensorrt") and actual == "cpu":
        raise ProviderError(
            f"provider {choice!r} asked for, but ONNX Runtime fell back to CPU (CUDA/cuDNN libraries "
            "missing or no GPU visible); install 'streamcd[gpu]' or use provider: auto"
        )
    if choice == "tensorrt" and actual != "tensorrt":
        raise ProviderError(
            f"provider 'tensorrt' asked for, but ONNX Runtime fell back to {actual} (TensorRT "
            "libraries missing: pip install tensorrt, or put libnvinfer on LD_LIBRARY_PATH); "
            "or use provider: cuda"
        )
    if choice == "auto" and actual == "cpu" and len(used) > 1:
        log.warning("GPU provider unavailable; running on CPU")
    return actual
