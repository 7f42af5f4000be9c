"""Distance map -> binary mask, blobs and boxes (the step between the model and the sinks)."""

from __future__ import annotations

from .mask import MaskPostprocessor

__all__ = ["MaskPostprocessor"]
