"""Fixtures for the Ray backend tests: one small local Ray instance for the session (2 CPUs,
200 MiB object store, no dashboard: the machine is shared), and the real RTSP test server."""

from __future__ import annotations

import pytest

from streamcd.config import PipelineConfig

from ..rtsp_fixtures import (  # noqa: F401 - fixtures are found by name
    RtspServer,
    rtsp_server,
    rtsp_server_available,
)

FAST_RTSP = {"open_timeout_s": 2.0, "read_timeout_s": 1.0,
             "reconnect": {"initial_delay_s": 0.2, "max_delay_s": 1.0, "jitter": 0.1}}


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance shared by a module's tests (RayPipeline uses it instead of starting
    one); shut down after the module so that it does not run beside the other tests."""
    ray = pytest.importorskip("ray", reason="needs the ray extra: pip install 'streamcd[ray]'")
    ray.init(num_cpus=2, object_store_memory=200 * 2**20, include_dashboard=False,
             log_to_driver=False)
    yield ray
    ray.shutdown()


def ray_config(*streams: dict, **ray_section) -> PipelineConfig:
    """CPU model on one thread, batches of up to 8 with a short wait; ``ray_section`` overrides
    ``ray:``."""
    return PipelineConfig.model_validate({
        "model": {"provider": "cpu", "threads": 1, "max_batch": 8, "max_wait_ms": 2},
        "ray": {"placement_timeout_s": 30, **ray_section},
        "streams": list(streams),
    })


def file_stream(name: str, clip, out, state_dir=None, model: str = "reference") -> dict:
    """A video file stream with a 5-frame median, CDnet masks in out/<name>, JSONL out/<name>.jsonl.

    ``model``: the background model; the single reference by default, whose features the model
    actor caches (the tests of that cache and of restarts count its reference encodes).
    """
    background = {"model": model, "frames": 5, "stride": 1}
    if state_dir is not None:
        background["state_dir"] = str(state_dir)
    return {"name": name, "source": {"type": "video", "path": str(clip)}, "background": background,
            "sinks": [{"type": "cdnet", "dir": str(out / name)},
                      {"type": "jsonl", "path": str(out / f"{name}.jsonl")}]}


def rtsp_stream(name: str, url: str, out) -> dict:
    return {"name": name, "source": {"type": "rtsp", "url": url, **FAST_RTSP},
            "background": {"frames": 3, "stride": 1},
            "sinks": [{"type": "jsonl", "path": str(out / f"{name}.jsonl")}]}
