"""CDnet 2014 results folder: one ``bin%06d.png`` per input frame, 0/255, at the input size."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from ..config import CdnetSinkConfig
from ..errors import SinkError
from ..frames import Result
from ._common import SinkBase, binary_mask, check_dir, prepare_dir, replace_atomically

log = logging.getLogger(__name__)


class CdnetSink(SinkBase):
    """Writes masks the way the CDnet evaluation tools read them.

    Files are named by the source's frame number (input ``in000470.jpg`` -> ``bin000470.png``)
    and appear atomically (written under a hidden name, then renamed), so a reader or a crash
    never sees a truncated PNG. The folder is created with the first mask::

        with CdnetSink(CdnetSinkConfig(dir="results/highway")) as sink:
            for result in results:
                sink.write(result)
    """

    @classmethod
    def check(cls, config: CdnetSinkConfig) -> None:
        check_dir(config.dir, "cdnet sink")

    def __init__(self, config: CdnetSinkConfig, fps: float | None = None) -> None:
        self.config = config
        self.dir = Path(config.dir)
        check_dir(self.dir, "cdnet sink")  # created by the first mask: no empty results folder
        self.written = 0
        self._closed = False

    def write(self, result: Result) -> None:
        if self._closed:
            raise SinkError(
                f"cdnet sink for {self.dir} is closed; write() came after close()"
            )
        mask = binary_mask(result.mask, result.frame.size)
        ok, png = cv2.imencode(".png", mask)
        if not ok:
            raise SinkError(f"cannot encode mask of frame {result.frame.number} as PNG")
        if not self.written:
            prepare_dir(self.dir, "cdnet sink")
        replace_atomically(
            png.tobytes(), self.dir / f"bin{result.frame.number:06d}.png"
        )
        self.written += 1

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            log.debug("cdnet sink %s: %d masks written", self.dir, self.written)
