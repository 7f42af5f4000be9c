"""The error hierarchy: every streamcd error lives in errors.py, is exported at the top level and
also inherits the matching builtin (``except OSError`` catches a SourceError)."""

from __future__ import annotations

import pytest

import streamcd
from streamcd import errors

CLASSES = sorted(n for n, v in vars(errors).items()
                 if isinstance(v, type) and issubclass(v, errors.StreamcdError))


@pytest.mark.parametrize("name", CLASSES)
def test_error_is_exported_at_top_level(name):
    assert name in streamcd.__all__ and getattr(streamcd, name) is getattr(errors, name)


@pytest.mark.parametrize("name", [n for n in CLASSES if n != "StreamcdError"])
def test_error_also_inherits_a_builtin(name):
    cls = getattr(errors, name)
    builtins = [b for b in cls.__mro__ if b.__module__ == "builtins" and b not in (Exception,
                                                                                BaseException, object)]
    assert builtins, f"{name} should also inherit the builtin it stands for (ValueError, OSError...)"


def test_cluster_error_is_still_importable_from_the_cluster_package():
    from streamcd.cluster import ClusterError

    assert ClusterError is streamcd.ClusterError
