"""ONNX Runtime execution-provider choice, verified against what the session really got.

A CUDA or TensorRT session silently falls back to CPU when their libraries are missing, so the
provider is always read back from ``session.get_providers()``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import TensorrtConfig
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


@dataclass(frozen=True)
class GpuSupport:
    """What this onnxruntime build offers for GPUs (``streamcd info``).

    A provider listed here can still fall back to CPU when a session starts (CUDA/cuDNN
    libraries missing, no GPU visible): only a session tells, see :func:`check_provider`.
    """

    cuda: bool
    tensorrt: bool
    preload_dlls: bool  # onnxruntime.preload_dlls() (>= 1.21) finds the nvidia-* wheels' libraries


def gpu_support() -> GpuSupport:
    ort = import_ort()
    available = set(ort.get_available_providers())
    return GpuSupport(cuda=ORT_NAMES["cuda"] in available,
                      tensorrt=ORT_NAMES["tensorrt"] in available,
                      preload_dlls=callable(getattr(ort, "preload_dlls", None)))


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


def default_engine_cache() -> Path:
    """Where TensorRT engines are cached when the config names no folder."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "streamcd" / "tensorrt"


def provider_options(name: str, device_id: int = 0,
                     tensorrt: TensorrtConfig | None = None) -> dict[str, str]:
    """ONNX Runtime options for one provider (short name), as the strings ORT parses.

    TensorRT builds an engine per input shape on first use (minutes); the engine and timing
    caches make later sessions start in seconds.
    """
    if name == "cuda":
        return {"device_id": str(device_id)}
    if name == "tensorrt":
        trt = tensorrt or TensorrtConfig()
        options = {"device_id": str(device_id), "trt_fp16_enable": str(trt.fp16)}
        if trt.engine_cache:
            folder = str(Path(trt.engine_cache_path or default_engine_cache()).expanduser())
            options.update(trt_engine_cache_enable="True", trt_engine_cache_path=folder,
                           trt_timing_cache_enable="True", trt_timing_cache_path=folder)
        return options
    return {}


def session_providers(choice: str, device_id: int = 0,
                      tensorrt: TensorrtConfig | None = None) -> list[tuple[str, dict[str, str]]]:
    """(ORT provider, options) pairs for a session; loads the CUDA libraries first on a GPU ask."""
    chain = [(name, provider_options(short_name(name), device_id, tensorrt))
             for name in requested_providers(choice)]
    if len(chain) > 1:
        preload_gpu_libraries()
    for _, options in chain:
        if "trt_engine_cache_path" in options:
            Path(options["trt_engine_cache_path"]).mkdir(parents=True, exist_ok=True)
    return chain


@dataclass(frozen=True)
class Preload:
    """What :func:`preload_gpu_libraries` did: ``done`` and the NVIDIA libraries now mapped."""

    done: bool
    detail: str
    libraries: tuple[str, ...] = ()


_preloaded: Preload | None = None


def preload_gpu_libraries() -> Preload:
    """Load the CUDA/cuDNN libraries of the ``nvidia-*`` wheels before a GPU session (once).

    onnxruntime-gpu >= 1.21 finds the pip-installed CUDA and cuDNN only through
    ``onnxruntime.preload_dlls()``; without it the CUDA provider falls back to CPU unless the
    libraries are on ``LD_LIBRARY_PATH``. Older versions lack the function: logged, not fatal.
    """
    global _preloaded
    if _preloaded is None:
        ort = import_ort()
        _preloaded = run_preload(getattr(ort, "preload_dlls", None), ort.__version__)
    return _preloaded


def run_preload(preload: Callable[[], object] | None, version: str) -> Preload:
    """Call ``preload`` (``onnxruntime.preload_dlls`` or None) and log the outcome; never raises."""
    if preload is None:
        result = Preload(False, f"onnxruntime {version} has no preload_dlls() (added in 1.21); "
                         "CUDA/cuDNN must be on LD_LIBRARY_PATH")
        log.info("%s", result.detail)
        return result
    try:
        preload()
    except Exception as e:  # noqa: BLE001 - a failed preload only means ORT searches itself
        result = Preload(False, f"onnxruntime.preload_dlls() failed: {type(e).__name__}: {e}")
        log.warning("%s", result.detail)
        return result
    libraries = nvidia_libraries()
    result = Preload(True, "onnxruntime.preload_dlls() done; NVIDIA libraries loaded: "
                     + (", ".join(libraries) or "none (CPU-only onnxruntime, or no nvidia-* wheels)"),
                     libraries)
    log.info("%s", result.detail)
    return result


#: Shared libraries of the CUDA, cuDNN and TensorRT stacks (logged after a preload).
NVIDIA_LIBRARIES = ("libcudart", "libcudnn", "libcublas", "libcufft", "libcurand", "libnvrtc",
                    "libnvinfer")


def nvidia_libraries() -> tuple[str, ...]:
    """The CUDA/cuDNN/TensorRT shared libraries mapped into this process."""
    return mapped_libraries(NVIDIA_LIBRARIES)


def mapped_libraries(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """File names of the shared objects mapped into this process starting with ``prefixes`` (Linux)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return ()
    paths = (line.split(maxsplit=5)[-1] for line in maps.splitlines() if line.count(" ") >= 5)
    return tuple(sorted({Path(p).name for p in paths if p.startswith("/") and Path(p).name.startswith(prefixes)}))
