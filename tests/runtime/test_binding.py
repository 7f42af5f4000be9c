"""IO binding: the bound code path (device ``cpu`` here) gives exactly the plain run's results."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

from streamcd.config import ModelConfig
from streamcd.errors import ModelError
from streamcd.runtime.binding import BoundSession, DeviceFeatures, binding_device
from streamcd.runtime.onnx_model import OnnxChangeModel

HAS_CUDA = "CUDAExecutionProvider" in onnxruntime.get_available_providers()


@pytest.fixture(scope="module")
def plain():
    return OnnxChangeModel.load(None, provider="cpu", threads=1)


@pytest.fixture(scope="module")
def bound():
    return OnnxChangeModel.load(None, provider="cpu", threads=1, io_binding=True)


def images(n: int, w: int = 160, h: int = 120, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("provider", "device"),
    [("cpu", "cpu"), ("cuda", "cuda"), ("tensorrt", "cuda")],  # TensorRT's buffers are CUDA's
)
def test_binding_device(provider, device):
    assert binding_device(provider) == device


@pytest.mark.parametrize(
    ("io_binding", "expected"),
    [
        (None, False),  # auto: off on CPU (nothing to save: inputs are already in place)
        (True, True),  # asked for: the same code path as on a GPU, device cpu
        (False, False),
    ],
)
def test_io_binding_option(io_binding, expected):
    model = OnnxChangeModel.from_config(ModelConfig(provider="cpu", threads=1, io_binding=io_binding))
    assert model.io_binding is expected


@pytest.mark.parametrize(("n", "w", "h"), [(1, 160, 120), (3, 160, 120), (2, 320, 240)])
def test_bound_results_equal_plain_results_exactly(plain, bound, n, w, h):
    frames, background = images(n, w, h), images(1, w, h, seed=1)
    for got, want in zip(bound.encode(frames), plain.encode(frames)):
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, want)
    ref_bound, ref_plain = bound.encode_reference(background), plain.encode_reference(background)
    assert isinstance(ref_bound, DeviceFeatures) and isinstance(ref_plain, tuple)
    want = plain.distance(ref_plain, frames)
    np.testing.assert_array_equal(bound.distance(ref_bound, frames), want)
    np.testing.assert_array_equal(want, plain.compare(ref_plain, plain.encode(frames)))
    # host features into the bound model, device features out to the host: same numbers
    np.testing.assert_array_equal(bound.compare(ref_plain, plain.encode(frames)), want)
    np.testing.assert_array_equal(bound.compare(ref_bound, bound.encode(frames)), want)


def test_reference_features_stay_on_the_device(bound, plain):
    background = images(1, seed=2)
    ref = bound.encode_reference(background)
    assert ref.device == "cpu" and ref.batch == 1
    assert ref.shapes == tuple(f.shape for f in plain.encode(background))
    for got, want in zip(ref.numpy(), plain.encode(background)):
        np.testing.assert_array_equal(got, want)
    # the same OrtValues serve every frame: the reference is uploaded once per version
    first = ref.values[0]
    bound.distance(ref, images(1, seed=3))
    assert ref.values[0] is first


def test_to_device_uploads_host_features(bound, plain):
    host = plain.encode(images(2, seed=4))
    on_device = bound.to_device(host)
    assert isinstance(on_device, DeviceFeatures) and on_device.batch == 2
    assert bound.to_device(on_device) is on_device
    assert plain.to_device(host) is host  # no binding: stays as it is
    frames = images(2, seed=5)
    np.testing.assert_array_equal(bound.distance(on_device, frames), plain.distance(host, frames))


def test_bound_checks_shapes_like_plain(bound):
    ref = bound.encode_reference(images(1, 160, 120))
    with pytest.raises(ModelError, match="compare needs reference and query features"):
        bound.distance(ref, images(1, 320, 240))
    with pytest.raises(ModelError, match="multiples of 8"):
        bound.encode_reference(np.zeros((1, 100, 100, 3), np.uint8))


def test_bound_session_outputs_on_device_or_host(plain):
    session = BoundSession(plain._encoder, "cpu")
    frame = images(1)
    on_device = session.run([frame], on_device=True)
    assert all(isinstance(v, onnxruntime.OrtValue) for v in on_device)
    host = session.run([session.upload(frame)])  # an OrtValue input
    for value, array in zip(on_device, host):
        np.testing.assert_array_equal(value.numpy(), array)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs onnxruntime-gpu and an NVIDIA GPU (CUDA provider)")
def test_cuda_bound_results_close_to_cpu(plain):
    gpu = OnnxChangeModel.load(None, provider="cuda")
    assert gpu.io_binding and gpu.provider == "cuda"
    background, frames = images(1, seed=6), images(4, seed=7)
    ref = gpu.encode_reference(background)
    assert ref.device == "cuda"
    np.testing.assert_allclose(gpu.distance(ref, frames),
                               plain.distance(plain.encode(background), frames), atol=1e-3)
