"""A real RTSP server in a subprocess (tests/rtsp_server.py) and its pytest fixtures.

Shared by tests/sources and tests/live: their conftest.py files import the fixtures from here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).resolve().parent / "rtsp_server.py"
GI_CHECK = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
    "assert all(Gst.ElementFactory.find(e) for e in ('videotestsrc', 'x264enc', 'rtph264pay'))"
)
APT_HINT = (
    "apt-get install gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0 "
    "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad "
    "gstreamer1.0-plugins-ugly"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspServer:
    """tests/rtsp_server.py as a subprocess on a fixed port, which a test can kill, restart
    (optionally at another size), freeze (SIGSTOP) and thaw (SIGCONT)."""

    def __init__(self, port: int, size: tuple[int, int] = (160, 120), fps: int = 25) -> None:
        self.port = port
        self.size = size
        self.fps = fps
        self.url = f"rtsp://127.0.0.1:{port}/test"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 10.0, size: tuple[int, int] | None = None) -> None:
        """Start the server (at ``size`` if given) and wait until its port accepts connections."""
        if size is not None:
            self.size = size
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port),
             "--width", str(self.size[0]), "--height", str(self.size[1]), "--fps", str(self.fps)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                raise RuntimeError(f"RTSP test server exited with {self.proc.returncode}: {err}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"RTSP test server did not listen on port {self.port} in {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL, as a crashed camera: no RTSP TEARDOWN, connections just drop."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # a frozen process must run to die cleanly
            self.proc.kill()
        self.proc.wait(timeout=5)
        self.proc.stderr.close()
        self.proc = None

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its sockets but answers nothing (a hung camera)."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)


@pytest.fixture(scope="session")
def rtsp_server_available() -> None:
    """Skips when Debian's python3 cannot drive gst-rtsp-server (the venv cannot import gi)."""
    if not os.path.exists(SYSTEM_PYTHON):
        pytest.skip(f"RTSP tests need {SYSTEM_PYTHON} with GStreamer's gi bindings")
    check = subprocess.run(
        [SYSTEM_PYTHON, "-c", GI_CHECK], check=False, capture_output=True, timeout=30
    )
    if check.returncode != 0:
        pytest.skip(
            f"RTSP tests: {SYSTEM_PYTHON} cannot import gi.repository.GstRtspServer "
            f"with videotestsrc/x264enc/rtph264pay; install: {APT_HINT}"
        )


@pytest.fixture
def rtsp_server(rtsp_server_available) -> RtspServer:
    """A running RTSP server (160x120, 25 fps H.264); ``.url``, ``.kill()``, ``.start()``,
    ``.freeze()``, ``.thaw()``. Killed at teardown."""
    server = RtspServer(free_port())
    server.start()
    yield server
    server.kill()


@pytest.fixture
def rtsp_server_stopped(rtsp_server_available) -> RtspServer:
    """Like ``rtsp_server`` but not started: for a camera that comes up late."""
    server = RtspServer(free_port())
    yield server
    server.kill()
