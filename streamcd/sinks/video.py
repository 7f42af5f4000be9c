"""H.264 MP4 sinks: the masks, or the input with the foreground drawn on it.

Both share one writer: libx264, yuv420p, ``+faststart`` (index first, so browsers play it while
it downloads), encoded into a hidden ``.name.partial.mp4`` beside the target and renamed to the
final name only by ``close()``. A killed process leaves at most the partial file; ``close()``
after Ctrl-C (``with`` does it) still yields a complete, playable video.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import cv2
import numpy as np

from ..config import AnnotatedVideoSinkConfig, MaskVideoSinkConfig
from ..errors import SinkError
from ..frames import Result
from ._common import SinkBase, binary_mask, check_file, partial_path, prepare_dir
from .annotate import annotate

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0
# "veryfast" keeps a 1080p stream real-time on a couple of cores; at a fixed crf it costs
# some file size, not quality.
PRESET = "veryfast"


class H264Writer:
    """Encodes BGR or grayscale uint8 images to an H.264 MP4, constant frame rate.

    The frame size is fixed by the first image; odd widths/heights are padded (edge pixels
    repeated) to even, as yuv420p needs, and later images of another size are resized to it::

        with H264Writer("out/mask.mp4", fps=25, crf=23) as writer:
            writer.write(mask)      # HxW gray or HxWx3 BGR
    """

    def __init__(
        self, path: str | Path, fps: float = DEFAULT_FPS, crf: int = 23
    ) -> None:
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.crf = crf
        self.frames = 0
        # (w, h) of the first image, before padding
        self.size: tuple[int, int] | None = None
        try:
            av.Codec("libx264", "w")
        except (av.FFmpegError, ValueError) as e:
            raise SinkError(
                f"cannot write {self.path}: this PyAV/FFmpeg build has no libx264 encoder; "
                "install the PyAV wheels from PyPI (`pip install av`), which include it"
            ) from e
        check_file(self.path, f"video {self.path}")  # the folder is made by the first frame
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None
        self._closed = False

    def write(self, image: np.ndarray) -> None:
        """Append one image: HxW (gray) or HxWx3 (BGR), uint8."""
        if self._closed:
            raise SinkError(f"video {self.path} is closed; write() came after close()")
        height, width = image.shape[:2]
        if self._container is None:
            self._open(width, height)
        elif (width, height) != self.size:
            log.warning(
                "%s: frame size %dx%d differs from the first (%dx%d); resizing",
                self.path,
                width,
                height,
                *self.size,
            )
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        pad_w, pad_h = (
            self._stream.width - self.size[0],
            self._stream.height - self.size[1],
        )
        if pad_w or pad_h:
            image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        frame = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(image), format="gray" if image.ndim == 2 else "bgr24"
        )
        frame.pts = self.frames
        try:
            self._container.mux(self._stream.encode(frame))
        except av.FFmpegError as e:
            raise SinkError(
                f"cannot encode frame {self.frames} into {self.partial}: {e}"
            ) from e
        self.frames += 1

    def _open(self, width: int, height: int) -> None:
        prepare_dir(self.path.parent, f"video {self.path}")
        try:
            self._container = av.open(
                str(self.partial), "w", container_options={"movflags": "+faststart"}
            )
        except (av.FFmpegError, ValueError) as e:
            raise SinkError(
                f"cannot create video {self.partial}: {e}; use a .mp4 path in a writable folder"
            ) from e
        stream = self._container.add_stream(
            "libx264", rate=self.fps, options={"crf": str(self.crf), "preset": PRESET}
        )
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        self._stream = stream
        self.size = (width, height)
        if (width, height) != (stream.width, stream.height):
            log.info(
                "%s: padding %dx%d to %dx%d (yuv420p needs even sizes)",
                self.path,
                width,
                height,
                stream.width,
                stream.height,
            )

    def close(self) -> None:
        """Flush the encoder, finish the MP4 and give it its final name; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._container is None:
            log.warning(
                "%s: no frames were written, so no video was created", self.path
            )
            return
        try:
            self._container.mux(self._stream.encode(None))
        except av.FFmpegError as e:
            raise SinkError(f"cannot finish video {self.partial}: {e}") from e
        finally:
            self._container.close()
        try:
            os.replace(self.partial, self.path)
        except OSError as e:
            raise SinkError(
                f"cannot rename finished video {self.partial} to {self.path}: {e.strerror or e}"
            ) from e
        log.debug("%s: %d frames written", self.path, self.frames)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MaskVideoSink(SinkBase):
    """The masks as an H.264 MP4, white = foreground, at the input size (padded to even)::

    with MaskVideoSink(MaskVideoSinkConfig(path="out/masks.mp4"), fps=source.fps) as sink:
        sink.write(result)
    """

    def __init__(self, config: MaskVideoSinkConfig, fps: float | None = None) -> None:
        self.config = config
        self.writer = H264Writer(
            config.path, config.fps or fps or DEFAULT_FPS, config.crf
        )

    def write(self, result: Result) -> None:
        self.writer.write(binary_mask(result.mask, result.frame.size))

    def close(self) -> None:
        self.writer.close()


class AnnotatedVideoSink(SinkBase):
    """The input frames with the foreground tinted, outlined and/or boxed, as H.264 MP4::

    config = AnnotatedVideoSinkConfig(path="out/annotated.mp4", draw="boxes")
    with AnnotatedVideoSink(config, fps=source.fps) as sink:
        sink.write(result)
    """

    def __init__(
        self, config: AnnotatedVideoSinkConfig, fps: float | None = None
    ) -> None:
        self.config = config
        self.writer = H264Writer(
            config.path, config.fps or fps or DEFAULT_FPS, config.crf
        )

    def write(self, result: Result) -> None:
        frame = result.frame
        prefix = f"{result.stream} " if result.stream else ""
        label = f"{prefix}#{frame.number}  fg {100 * result.foreground_fraction:.1f}%"
        image = annotate(
            frame.image,
            binary_mask(result.mask, frame.size),
            result.boxes,
            draw=self.config.draw,
            alpha=self.config.alpha,
            label=label,
        )
        self.writer.write(image)

    def close(self) -> None:
        self.writer.close()
