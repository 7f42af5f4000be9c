"""The usage examples in the public API's docstrings run as written (from a folder that has the
repository's assets/ and pipelines/, as the repository root has)."""

from __future__ import annotations

import re
import textwrap

import pytest

from streamcd import sinks, sources
from streamcd.detector import Detector
from streamcd.pipeline import Pipeline
from streamcd.runtime.onnx_model import OnnxChangeModel
from tests.conftest import REPO


def example_of(obj) -> str:
    """The literal block (``...::``) of ``obj``'s docstring."""
    found = re.search(r"::\n\n(.*?)(?=\n\S|\n *$|\Z)", obj.__doc__, re.DOTALL)
    assert found, f"{obj.__name__} has no example"
    return textwrap.dedent(found.group(1))


@pytest.mark.parametrize("obj", [Detector, Pipeline, sources, sinks, OnnxChangeModel],
                         ids=lambda o: o.__name__)
def test_docstring_example_runs(obj, tmp_path, monkeypatch):
    for folder in ("assets", "pipelines"):
        (tmp_path / folder).symlink_to(REPO / folder)
    monkeypatch.chdir(tmp_path)
    exec(compile(  # noqa: S102 - the example, as a user would paste it
        example_of(obj), f"<example of {obj.__name__}>", "exec"), {})
