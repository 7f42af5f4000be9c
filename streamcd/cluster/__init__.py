"""Many machines: the same pipeline YAML on a Ray cluster (``streamcd run --backend ray``).

Each stream is a Ray actor (source + background + sinks, :mod:`.stream_worker`); the model runs
in model actors that batch frames from many streams (:mod:`.model_server`); the driver
(:mod:`.ray_backend`) places them, restarts what dies and aggregates stats. Needs the ``ray``
extra (``pip install 'streamcd[ray]'``); nothing here imports ray until it runs.

Example::

    from streamcd.cluster import RayPipeline
    report = RayPipeline.from_yaml("pipelines/demo.yaml").run()   # local Ray instance
    print(report.streams[0].frames, report.models[0].mean_batch)
"""

from __future__ import annotations

from types import ModuleType

from ..errors import ClusterError

INSTALL_HINT = "pip install 'streamcd[ray]'  (or: pip install 'ray>=2.9')"


def import_ray() -> ModuleType:
    """``import ray`` with an install hint instead of a bare ModuleNotFoundError."""
    try:
        import ray
    except ModuleNotFoundError as e:
        raise ClusterError(f"the Ray backend needs ray: {INSTALL_HINT}") from e
    return ray


def __getattr__(name: str):
    if name in ("RayPipeline", "RayPipelineReport"):
        from . import ray_backend

        return getattr(ray_backend, name)
    raise AttributeError(name)


__all__ = ["INSTALL_HINT", "ClusterError", "RayPipeline", "RayPipelineReport", "import_ray"]
