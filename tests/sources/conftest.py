"""Fixtures for the source tests: the real RTSP server from tests/rtsp_fixtures.py."""

from __future__ import annotations

from ..rtsp_fixtures import (  # noqa: F401 - fixtures are found by name
    RtspServer,
    free_port,
    rtsp_server,
    rtsp_server_available,
    rtsp_server_stopped,
)
