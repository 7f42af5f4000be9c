"""streamcd: video foreground / change detection with a siamese ONNX model.

Quick start::

    import streamcd
    detector = streamcd.Detector()            # shipped model, best provider
    mask = detector.apply(frame_bgr)          # uint8 0/255, like cv2 BackgroundSubtractor

    streamcd.Pipeline.from_yaml("pipelines/demo.yaml").run()

Every error streamcd raises on purpose is a :class:`StreamcdError`, re-exported here
(``except streamcd.SourceError``), each also a matching builtin (``SourceError`` is an ``OSError``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    BackgroundError,
    BaselineUnavailableError,
    ClusterError,
    ConfigError,
    DatasetError,
    ModelError,
    PlotDependencyError,
    ProviderError,
    ServeError,
    SinkError,
    SourceError,
    SourceTimeoutError,
    StreamcdError,
    UploadLayoutError,
    WorkerError,
)

__version__ = "0.1.0"

__all__ = [
    "BackgroundError",
    "BaselineUnavailableError",
    "ClusterError",
    "ConfigError",
    "DatasetError",
    "Detector",
    "ModelError",
    "Pipeline",
    "PlotDependencyError",
    "ProviderError",
    "ServeError",
    "SinkError",
    "SourceError",
    "SourceTimeoutError",
    "StreamcdError",
    "UploadLayoutError",
    "WorkerError",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover
    from .detector import Detector
    from .pipeline import Pipeline


def __getattr__(name: str):
    # Lazy so that `import streamcd` stays fast (no onnxruntime / cv2 import).
    if name == "Detector":
        from .detector import Detector

        return Detector
    if name == "Pipeline":
        from .pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'streamcd' has no attribute {name!r}")
