"""JSON Lines log: one object per (every n-th) frame and one per stream event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from ..config import JsonlSinkConfig
from ..errors import SinkError
from ..frames import Result, StreamEvent
from ._common import SinkBase, check_file, prepare_dir


class JsonlSink(SinkBase):
    """Appends to ``config.path``, flushing after each line so a killed process loses at most one.

    The file (and its folder) is created by the first line, so a stream that yields no frame and
    no event leaves no empty file behind.

    Frame lines: ``{"stream", "frame", "index", "time", "foreground", "boxes": [[x,y,w,h,area]]}``
    for results 0, every, 2*every, ... (counted per sink); event lines:
    ``{"event", "stream", "time", "detail"}``, always. Read it back with
    ``[json.loads(line) for line in open(path)]``::

        with JsonlSink(JsonlSinkConfig(path="out/frames.jsonl", every=5)) as sink:
            sink.write(result)
            sink.event(StreamEvent("disconnect", "cam1", time.time(), "read timeout"))
    """

    def __init__(self, config: JsonlSinkConfig, fps: float | None = None) -> None:
        self.config = config
        self.path = Path(config.path)
        check_file(self.path, f"jsonl sink {self.path}")
        # Opened on the first line: a stream that yields nothing leaves no empty file.
        self._file: TextIO | None = None
        self._closed = False
        self._seen = 0

    def write(self, result: Result) -> None:
        seen, self._seen = self._seen, self._seen + 1
        if seen % self.config.every:
            return
        frame = result.frame
        self._line(
            {
                "stream": result.stream,
                "frame": frame.number,
                "index": frame.index,
                "time": frame.timestamp,
                "foreground": round(float(result.foreground_fraction), 6),
                "boxes": [
                    [int(b.x), int(b.y), int(b.w), int(b.h), int(b.area)]
                    for b in result.boxes
                ],
            }
        )

    def event(self, event: StreamEvent) -> None:
        self._line(
            {
                "event": event.kind,
                "stream": event.stream,
                "time": event.timestamp,
                "detail": event.detail,
            }
        )

    def _line(self, record: dict) -> None:
        if self._closed:
            raise SinkError(
                f"jsonl sink for {self.path} is closed; write() came after close()"
            )
        if self._file is None:
            self._file = self._open()
        try:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._file.flush()
        except OSError as e:
            raise SinkError(
                f"jsonl sink: cannot write {self.path}: {e.strerror or e}"
            ) from e

    def _open(self) -> TextIO:
        prepare_dir(self.path.parent, "jsonl sink")
        try:
            # Append: a restarted stream keeps its history in the same file.
            return open(self.path, "a", encoding="utf-8")  # closed in close()
        except OSError as e:
            raise SinkError(
                f"jsonl sink: cannot open {self.path}: {e.strerror or e}"
            ) from e

    def close(self) -> None:
        self._closed = True
        if self._file is not None:
            self._file.close()
