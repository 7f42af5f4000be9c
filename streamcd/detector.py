"""``Detector``: the OpenCV BackgroundSubtractor habit (``apply(frame) -> mask``) on the ONNX model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from .background import BackgroundManager
from .config import BackgroundConfig, PostprocessConfig
from .errors import ConfigError
from .frames import Frame, Result
from .postprocess import MaskPostprocessor
from .processor import FrameProcessor
from .runtime.base import ChangeModel
from .runtime.geometry import TRAINING_SIDE

_PROVISIONAL = -2  # cache key of the first frame's features while the median is collected


class Detector:
    """Foreground masks frame by frame, like ``cv2.BackgroundSubtractor``.

    With the default median background, the first frames are compared against the first frame
    until the median of ``background.frames`` frames is ready (``apply`` never holds a frame
    back). Pass ``background=image`` (an array) to start from a known empty scene instead.

    Args:
        model: a model card (file or folder), a loaded :class:`ChangeModel`, or None for the
            shipped default model.
        provider: ONNX Runtime provider when the model is loaded here: ``auto``, ``cuda``,
            ``tensorrt`` or ``cpu``.
        background: the YAML ``background:`` section (a BackgroundConfig or a dict), or an
            image (HxWx3 or HxW uint8) of the empty scene.
        postprocess: the YAML ``postprocess:`` section (a PostprocessConfig or a dict).
        threshold: a fixed mask threshold instead of the model card's.
        keep_distance: keep each frame's change map in ``last_result.distance``.
        max_side: frames with a longer side are downscaled for the model (masks keep the frame
            size).
        min_side: frames whose longer side is shorter are upscaled to it for the model (the
            scale the shipped networks learnt at; None = never).

    Raises:
        ConfigError: ``background`` or ``postprocess`` is not a valid section.
        ModelError: the model cannot be loaded (ProviderError: the provider is unavailable).

    Example::

        import cv2
        import streamcd

        detector = streamcd.Detector(provider="cpu")            # shipped model
        video = cv2.VideoCapture("assets/highway.mp4")
        while (frame := video.read()[1]) is not None:           # HxWx3 uint8 BGR
            mask = detector.apply(frame)                        # HxW uint8, 255 = foreground
        cv2.imwrite("background.png", detector.getBackgroundImage())
    """

    def __init__(self, model: str | Path | ChangeModel | None = None, *, provider: str = "auto",
                 background: BackgroundConfig | dict[str, Any] | np.ndarray | None = None,
                 postprocess: PostprocessConfig | dict[str, Any] | None = None,
                 threshold: float | None = None, keep_distance: bool = False,
                 max_side: int | None = None, min_side: int | None = TRAINING_SIDE):
        if isinstance(model, (str, Path)) or model is None:
            from .runtime.onnx_model import OnnxChangeModel

            model = OnnxChangeModel.load(model, provider=provider)
        self.model = model
        initial = background if isinstance(background, np.ndarray) else None
        if initial is not None and initial.ndim == 2:  # grey, as apply() accepts it
            initial = np.repeat(initial[..., None], 3, axis=2)
        # A given picture becomes the reference at once: a median of that one frame.
        bg_cfg = BackgroundConfig(frames=1, stride=1) if initial is not None else _as(
            BackgroundConfig, background)
        post_cfg = _as(PostprocessConfig, postprocess)
        if threshold is not None:
            post_cfg = post_cfg.model_copy(update={"threshold": threshold})
        self._background = BackgroundManager(bg_cfg, "detector")
        self._processor = FrameProcessor(model, self._background,
                                         MaskPostprocessor(post_cfg, model.threshold), "detector",
                                         keep_distance, max_side, min_side)
        self._provisional: np.ndarray | None = None
        if initial is not None:
            self._background.offer(initial)
        self._count = 0
        self.last_result: Result | None = None

    @property
    def provider(self) -> str:
        """The ONNX Runtime provider really used (``cpu``, ``cuda``, ``tensorrt``)."""
        return self.model.provider

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Foreground mask of one frame.

        Args:
            image: HxWx3 uint8 BGR (or HxW grey) frame; frames of a stream keep one size.

        Returns:
            HxW uint8 mask, 255 = foreground; ``last_result`` has its boxes and fraction.

        Raises:
            ValueError: ``image`` is not uint8 HxWx3 or HxW.
        """
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"apply expects an HxWx3 uint8 BGR image, got {image.dtype} {image.shape}")
        frame = Frame(self._count, self._count + 1, time.time(), image, time.monotonic())
        self._count += 1
        if not self._background.ready:
            if self._provisional is None:
                self._provisional = image.copy()
            # the frames held meanwhile were answered against the provisional background
            if not self._background.feed(frame, image):
                dist = self._processor.distance(image, self._provisional, _PROVISIONAL)
                mask, boxes, fraction = self._processor.postprocess(dist)
                self.last_result = Result(frame, mask, boxes, fraction, dist, "detector")
                return mask
        self.last_result, _ = self._processor.process(frame)
        return self.last_result.mask

    def getBackgroundImage(self) -> np.ndarray | None:
        """The current reference background (BGR), or the provisional one during start-up."""
        return self._background.reference if self._background.ready else self._provisional


def _as(cls, value):
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        try:
            return cls(**value)
        except Exception as e:
            raise ConfigError(f"invalid {cls.__name__}: {e}") from e
    raise ConfigError(f"expected a {cls.__name__} or a dict, got {type(value).__name__}")
