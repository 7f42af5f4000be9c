"""Sinks: where results go (CDnet folders, videos, JSON Lines).

A new sink is one module with a class ``(config, fps)`` implementing :class:`Sink`, plus one line
in ``SINKS``; the YAML ``type:`` of its config is the key.
"""

from __future__ import annotations

from ..config import (
    AnnotatedVideoSinkConfig,
    CdnetSinkConfig,
    JsonlSinkConfig,
    MaskVideoSinkConfig,
)
from ..errors import ConfigError
from .annotate import annotate
from .base import Sink
from .cdnet import CdnetSink
from .jsonl import JsonlSink
from .video import AnnotatedVideoSink, H264Writer, MaskVideoSink

__all__ = [
    "SINKS",
    "AnnotatedVideoSink",
    "CdnetSink",
    "H264Writer",
    "JsonlSink",
    "MaskVideoSink",
    "Sink",
    "annotate",
    "check_sink",
    "open_sink",
]

SINKS: dict[str, type] = {
    "cdnet": CdnetSink,
    "mask_video": MaskVideoSink,
    "annotated_video": AnnotatedVideoSink,
    "jsonl": JsonlSink,
}

SinkConfig = (
    CdnetSinkConfig | MaskVideoSinkConfig | AnnotatedVideoSinkConfig | JsonlSinkConfig
)


def open_sink(config: SinkConfig, fps: float | None = None) -> Sink:
    """Build the sink that ``config.type`` names; ``fps`` is the source's rate (None if unknown).

    Raises SinkError when the output cannot be written, ConfigError for an unknown type.
    """
    return _sink_class(config)(config, fps)


def check_sink(config: SinkConfig) -> None:
    """SinkError now when the output of ``config`` could not be written; creates nothing.

    A stream checks all its sinks before it opens any, so a bad one leaves no partial outputs.
    """
    check = getattr(_sink_class(config), "check", None)
    if check is not None:
        check(config)


def _sink_class(config: SinkConfig) -> type:
    try:
        return SINKS[config.type]
    except (KeyError, AttributeError):
        kind = getattr(config, "type", type(config).__name__)
        raise ConfigError(
            f"unknown sink type {kind!r}; valid types: {', '.join(SINKS)}"
        ) from None
