"""A tiny RTSP server for the RTSP source tests (GStreamer's gst-rtsp-server).

Run with Debian's ``/usr/bin/python3`` (the one that can import ``gi``), not the venv:

    /usr/bin/python3 tests/rtsp_server.py --port 8554    # rtsp://127.0.0.1:8554/test

It serves a live H.264 stream of GStreamer's bouncing-ball test pattern, encoded with zero
latency and a short keyframe interval so that a (re)connecting client gets a picture quickly.
Needs: gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0
gstreamer1.0-plugins-{base,good,bad,ugly}.
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer

PIPELINE = (
    "( videotestsrc pattern=ball is-live=true "
    "! video/x-raw,width={width},height={height},framerate={fps}/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={keyint} threads=1 "
    "! rtph264pay name=pay0 pt=96 config-interval=1 )"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/test")
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=120)
    parser.add_argument("--fps", type=int, default=25)
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        PIPELINE.format(
            width=args.width, height=args.height, fps=args.fps, keyint=max(args.fps // 5, 1)
        )
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr)
        return 1
    print(f"rtsp://{args.host}:{args.port}{args.path}", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
