"""Hardware video decode (NVDEC with ``cuda``, VAAPI) through PyAV, else software decode.

``hwaccel: cuda`` on a video or RTSP source asks FFmpeg to decode on the GPU (PyAV >= 14,
``av.codec.hwaccel``); frames still come back as BGR arrays in host memory. Whether the device
can decode is probed once per process (an H.264 decoder context on it); when it cannot (no GPU,
no driver, an FFmpeg build without it, an old PyAV) or the stream's codec has no decoder there,
the source decodes in software and says so in one warning. Usage::

    decoder = HwDecoder("cuda", "clip.mp4")
    container = decoder.open("clip.mp4")          # av.open(..., hwaccel=...) or plain av.open
    print(decoder.active)                         # True when frames are decoded on the device
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import av

log = logging.getLogger(__name__)

_probed: dict[str, str | None] = {}  # device type -> why it cannot decode (None: it can)
_lock = threading.Lock()


def hwaccel_unavailable(device_type: str) -> str | None:
    """Why ``device_type`` cannot decode video here; None when it can (probed once per process)."""
    with _lock:
        if device_type not in _probed:
            _probed[device_type] = _probe(device_type)
        return _probed[device_type]


def _probe(device_type: str) -> str | None:
    try:
        from av.codec.hwaccel import HWAccel, hwdevices_available
    except ImportError:
        return f"PyAV {av.__version__} has no hardware decode (needs PyAV >= 14)"
    available = hwdevices_available()
    if device_type not in available:
        return (f"this FFmpeg build has no {device_type!r} device "
                f"(has: {', '.join(available) or 'none'})")
    try:
        HWAccel(device_type).create(av.Codec("h264", "r"))
    except (av.error.FFmpegError, NotImplementedError, ValueError) as e:
        return f"no usable {device_type} device ({type(e).__name__}: {e})"
    return None


class HwDecoder:
    """One source's hardware-decode setting: opens containers on the device when it can.

    Falls back to software with one warning per source; ``active`` tells what the last open got.
    """

    def __init__(self, device_type: str | None, name: str) -> None:
        self.device_type = device_type
        self.name = name  # the source, for the log (a URL without its password)
        self.active = False
        self._fell_back = False

    def open(self, url: str, **options: Any) -> av.container.InputContainer:
        """``av.open(url, **options)``, with the hardware decoder when asked for and usable."""
        self.active = False
        if self.device_type is None or self._fell_back:
            return av.open(url, **options)
        reason = hwaccel_unavailable(self.device_type)
        if reason is None:
            from av.codec.hwaccel import HWAccel

            try:
                container = av.open(url, hwaccel=HWAccel(self.device_type), **options)
            except NotImplementedError as e:  # the stream's codec has no decoder on the device
                reason = str(e)
            else:
                self.active = True
                log.info("%s: decoding on %s", self.name, self.device_type)
                return container
        self._fell_back = True
        log.warning("%s: hwaccel %s unavailable, decoding in software: %s", self.name,
                    self.device_type, reason)
        return av.open(url, **options)
