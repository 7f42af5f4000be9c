"""ONNX Runtime session options and the provider read-back (no GPU needed)."""

from __future__ import annotations

import os

import pytest

from streamcd.errors import ProviderError
from streamcd.runtime.onnx_model import OnnxChangeModel, default_threads, session_options
from streamcd.runtime.providers import check_provider


def test_default_threads_are_the_cores_at_most_four():
    assert default_threads() == max(1, min(4, len(os.sched_getaffinity(0))))


@pytest.mark.parametrize(("threads", "expected"), [(None, default_threads()), (1, 1), (3, 3)])
def test_session_options(threads, expected):
    options = session_options(threads)
    assert options.intra_op_num_threads == expected and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.enable_cpu_mem_arena


def test_model_reports_its_threads():
    assert OnnxChangeModel.load(None, provider="cpu", threads=1).threads == 1


@pytest.mark.parametrize(
    ("choice", "used", "expected"),
    [
        ("auto", ["CPUExecutionProvider"], "cpu"),  # CPU-only build
        ("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"], "cuda"),
        ("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"], "cuda"),
        ("tensorrt", ["TensorrtExecutionProvider", "CUDAExecutionProvider",
                      "CPUExecutionProvider"], "tensorrt"),
        ("cuda", ["CPUExecutionProvider"], "fell back to CPU"),  # explicit GPU ask fell back
        ("tensorrt", ["CPUExecutionProvider"], "fell back to CPU"),
        ("tensorrt", ["CUDAExecutionProvider", "CPUExecutionProvider"], "fell back to cuda"),
    ],
)
def test_provider_read_back(choice, used, expected):
    if expected.startswith("fell back"):
        with pytest.raises(ProviderError, match=expected):
            check_provider(choice, used)
    else:
        assert check_provider(choice, used) == expected
