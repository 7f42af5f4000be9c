"""Sources: where frames come from (files, CDnet folders, image sequences, cameras).

``open_source(config)`` turns a validated source config into a Source through the ``SOURCES``
table: adding a source is one module here plus one line in that table.

Example::

    from streamcd.config import VideoSourceConfig
    from streamcd.sources import open_source

    with open_source(VideoSourceConfig(path="assets/highway.mp4", max_frames=10)) as source:
        for frame in source:                                  # Frame(number, image, ...)
            print(frame.number, frame.image.shape, source.stats.frames)
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
    """The Source described by a source config; use it as a context manager and iterate it.

    Args:
        config: a ``streamcd.config.*SourceConfig`` (its ``type`` picks the class in
            ``SOURCES``).
        on_event: receives StreamEvents (disconnect, reconnect, gap, corrupt) with ``stream``
            left "" for the caller to fill in; live sources call it on the iterating thread.

    Returns:
        A :class:`Source`: iterating gives :class:`~streamcd.frames.Frame` objects;
        ``live``, ``fps`` and ``stats`` describe it.

    Raises:
        ConfigError: unknown ``type``.
        SourceError: the input cannot be opened (SourceTimeoutError: a camera did not answer
            in time); iterating may raise it too.

    Example: see the module docstring.
    """
    kind = getattr(config, "type", None)
    try:
        cls = SOURCES[kind]
    except KeyError:
        raise ConfigError(
            f"unknown source type {kind!r}; valid: {', '.join(sorted(SOURCES))}"
        ) from None
    return cls.from_config(config, on_event=on_event)
