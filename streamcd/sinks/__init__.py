"""Sinks: where results go (CDnet folders, videos, JSON Lines).

A new sink is one module with a class ``(config, fps)`` implementing :class:`Sink`, plus one line
in ``SINKS``; the YAML ``type:`` of its config is the key. Example (a Detector's results as JSON
Lines)::

    from streamcd import Detector
    from streamcd.config import JsonlSinkConfig, VideoSourceConfig
    from streamcd.sinks import open_sink
    from streamcd.sources import open_source

    detector = Detector(provider="cpu")
    with (open_source(VideoSourceConfig(path="assets/highway.mp4", max_frames=20)) as source,
          open_sink(JsonlSinkConfig(path="out/highway.jsonl"), source.fps) as sink):
        for frame in source:
            detector.apply(frame.image)
            sink.write(detector.last_result)      # one line per frame: boxes, changed fraction
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
    """The sink that ``config.type`` names, open; use it as a context manager.

    Args:
        config: a ``streamcd.config.*SinkConfig``.
        fps: the source's frame rate, for video sinks (None: unknown).

    Returns:
        A :class:`Sink`: ``write(result)``, ``event(event)``; closing it finishes the output.

    Raises:
        ConfigError: unknown ``type``.
        SinkError: the output cannot be written.

    Example: see the module docstring.
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
