"""Sources: where frames come from (files, CDnet folders, image sequences, cameras).

``open_source(config)`` turns a validated source config into a Source through the ``SOURCES``
table: adding a source is one module here plus one line in that table.

Example:
    >>> from streamcd.config import VideoSourceConfig
    >>> with open_source(VideoSourceConfig(path="clip.mp4")) as source:  # doctest: +SKIP
    ...     for frame in source:
    ...         print(frame.number, frame.size)
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import CORRUPT, DISCONNECT, GAP, RECONNECT, EventCallback, Source, SourceStats
from .cdnet import CdnetSource
from .images import ImagesSource
from .live import LiveReader
from .rtsp import RtspSource
from .video import VideoSource
from .webcam import WebcamSource

__all__ = [
    "CORRUPT",
    "DISCONNECT",
    "GAP",
    "RECONNECT",
    "SOURCES",
    "CdnetSource",
    "EventCallback",
    "ImagesSource",
    "LiveReader",
    "RtspSource",
    "Source",
    "SourceStats",
    "VideoSource",
    "WebcamSource",
    "open_source",
]

#: config ``type`` -> Source class; each class has ``from_config(config, on_event)``.
SOURCES: dict[str, type] = {
    "video": VideoSource,
    "cdnet": CdnetSource,
    "images": ImagesSource,
    "rtsp": RtspSource,
    "webcam": WebcamSource,
}


def open_source(config, on_event: EventCallback | None = None) -> Source:
    """The Source described by a source config (``streamcd.config.*SourceConfig``).

    ``on_event`` receives StreamEvents (disconnect, reconnect, gap, corrupt) with ``stream`` left
    "" for the caller to fill in. Live sources call it on the iterating thread.
    """
    kind = getattr(config, "type", None)
    try:
        cls = SOURCES[kind]
    except KeyError:
        raise ConfigError(
            f"unknown source type {kind!r}; valid: {', '.join(sorted(SOURCES))}"
        ) from None
    return cls.from_config(config, on_event=on_event)
