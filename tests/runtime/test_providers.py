"""Provider options (CUDA device, TensorRT engine cache) and the CUDA library preload, without a GPU."""

from __future__ import annotations

from pathlib import Path

import onnxruntime
import pytest

from streamcd.config import ModelConfig, PipelineConfig, TensorrtConfig
from streamcd.errors import ConfigError
from streamcd.runtime import providers
from streamcd.runtime.providers import (
    default_engine_cache,
    mapped_libraries,
    provider_options,
    run_preload,
    session_providers,
)

HAS_CUDA = "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def _trt_cache(folder: str) -> dict[str, str]:
    return {"trt_engine_cache_enable": "True", "trt_engine_cache_path": folder,
            "trt_timing_cache_enable": "True", "trt_timing_cache_path": folder}


@pytest.mark.parametrize(
    ("name", "device_id", "tensorrt", "expected"),
    [
        ("cpu", 0, None, {}),
        ("cuda", 0, None, {"device_id": "0"}),
        ("cuda", 1, TensorrtConfig(fp16=True), {"device_id": "1"}),  # TensorRT options ignored
        # defaults: engine cache on, in the user cache folder; float32
        ("tensorrt", 0, None,
         {"device_id": "0", "trt_fp16_enable": "False", **_trt_cache(str(default_engine_cache()))}),
        ("tensorrt", 2, TensorrtConfig(engine_cache_path=Path("/srv/trt"), fp16=True),
         {"device_id": "2", "trt_fp16_enable": "True", **_trt_cache("/srv/trt")}),
        # cache off: no cache keys at all (ORT would otherwise still write engines)
        ("tensorrt", 0, TensorrtConfig(engine_cache=False),
         {"device_id": "0", "trt_fp16_enable": "False"}),
    ],
)
def test_provider_options(name, device_id, tensorrt, expected):
    assert provider_options(name, device_id, tensorrt) == expected


def test_engine_cache_path_expands_the_home_folder():
    options = provider_options("tensorrt", tensorrt=TensorrtConfig(engine_cache_path=Path("~/trt")))
    assert options["trt_engine_cache_path"] == str(Path.home() / "trt")


def test_default_engine_cache_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_engine_cache() == tmp_path / "streamcd" / "tensorrt"


def test_tensorrt_settings_from_yaml(tmp_path):
    yaml = tmp_path / "p.yaml"
    yaml.write_text(
        "model:\n  provider: tensorrt\n  device_id: 1\n"
        "  tensorrt: {engine_cache_path: /data/trt, fp16: true}\n"
        "streams:\n  - {name: a, source: {type: video, path: x.mp4}}\n"
    )
    model = PipelineConfig.from_yaml(yaml).model
    assert provider_options("tensorrt", model.device_id, model.tensorrt) == {
        "device_id": "1", "trt_fp16_enable": "True", **_trt_cache("/data/trt")}


def test_unknown_tensorrt_key_is_a_config_error(tmp_path):
    yaml = tmp_path / "p.yaml"
    yaml.write_text("model:\n  tensorrt: {cache: /x}\n"
                    "streams:\n  - {name: a, source: {type: video, path: x.mp4}}\n")
    with pytest.raises(ConfigError, match="model.tensorrt.cache"):
        PipelineConfig.from_yaml(yaml)


@pytest.mark.skipif(HAS_CUDA, reason="onnxruntime-gpu is installed: auto would pick CUDA")
def test_cpu_session_providers_need_no_preload(monkeypatch):
    monkeypatch.setattr(providers, "_preloaded", None)
    assert session_providers("auto") == [("CPUExecutionProvider", {})]
    assert session_providers("cpu", device_id=3) == [("CPUExecutionProvider", {})]
    assert providers._preloaded is None  # no GPU asked for: nothing loaded


def _raises() -> None:
    raise OSError("libcudnn.so.9: cannot open shared object file")


@pytest.mark.parametrize(
    ("preload", "done", "detail"),
    [
        (None, False, "has no preload_dlls() (added in 1.21)"),  # onnxruntime < 1.21
        (_raises, False, "preload_dlls() failed: OSError: libcudnn.so.9"),  # never fatal
        (lambda: None, True, "preload_dlls() done; NVIDIA libraries loaded"),
    ],
)
def test_run_preload(preload, done, detail, caplog):
    caplog.set_level("INFO", logger="streamcd.runtime.providers")
    result = run_preload(preload, "1.20.0")
    assert result.done is done and detail in result.detail
    assert detail in caplog.text


def test_real_preload_on_this_onnxruntime_does_not_fail(monkeypatch):
    monkeypatch.setattr(providers, "_preloaded", None)
    result = providers.preload_gpu_libraries()
    assert result.done == hasattr(onnxruntime, "preload_dlls")
    assert providers.preload_gpu_libraries() is result  # once per process


def test_mapped_libraries_reads_this_process():
    assert any(name.startswith("onnxruntime_pybind11_state")
               for name in mapped_libraries(("onnxruntime_pybind11_state",)))
    assert mapped_libraries(("no-such-library",)) == ()


def test_model_config_defaults():
    m = ModelConfig()
    assert (m.device_id, m.io_binding, m.max_batch) == (0, None, 1)
    assert m.tensorrt == TensorrtConfig(engine_cache=True, engine_cache_path=None, fp16=False)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("max_batch: 0", r"model.max_batch \(line 2\)"),  # 1 is off; 0 is not a batch
        ("max_wait_ms: -1", r"model.max_wait_ms \(line 2\)"),
        ("device_id: -1", r"model.device_id \(line 2\)"),
        ("io_binding: sometimes", r"model.io_binding \(line 2\)"),  # true, false or null (auto)
        ("tensorrt: {fp16: maybe}", r"model.tensorrt.fp16 \(line 2\)"),
    ],
)
def test_bad_gpu_settings_name_their_key(tmp_path, line, match):
    yaml = tmp_path / "p.yaml"
    yaml.write_text(f"model:\n  {line}\nstreams:\n  - {{name: a, source: {{type: video, path: x.mp4}}}}\n")
    with pytest.raises(ConfigError, match=match):
        PipelineConfig.from_yaml(yaml)
