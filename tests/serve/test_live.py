"""``streamcd serve`` on the real RTSP test server: health follows the camera, viewers share
one JPEG per frame and only watched streams are encoded."""

from __future__ import annotations

import json
import threading

import pytest
from websockets.sync.client import connect

from tests.conftest import wait_until

from .conftest import config, rtsp_stream
from .test_app import get


def healthz(url: str) -> tuple[int, dict]:
    status, _, body = get(url + "/healthz")
    return status, json.loads(body)


def test_healthz_follows_the_camera(serve, rtsp_server, tmp_path):
    served = serve(config(rtsp_stream("cam", rtsp_server.url, tmp_path)))
    served.wait_frames("cam", 5)
    assert healthz(served.url) == (200, {"ok": True, "failing": {}})
    rtsp_server.kill()
    wait_until(lambda: healthz(served.url)[0] == 503, 10, "/healthz 503 after the camera died")
    _, body = healthz(served.url)
    assert body["ok"] is False and body["failing"]["cam"]["state"] == "disconnected"
    assert body["failing"]["cam"]["reason"]  # why, from the source's disconnect event
    rtsp_server.start()
    wait_until(lambda: healthz(served.url)[0] == 200, 20, "/healthz 200 after the restart")
    seen = served.hub.feeds["cam"].seq
    served.wait_frames("cam", seen + 5)  # and frames flow again
    status, _, body = get(served.url + "/api/streams/cam")
    assert status == 200
    kinds = [e["kind"] for e in json.loads(body)["events"]]
    assert "disconnect" in kinds and "reconnect" in kinds


def test_healthz_waits_for_a_camera_down_at_start(serve, rtsp_server_stopped, tmp_path):
    served = serve(config(rtsp_stream("cam", rtsp_server_stopped.url, tmp_path)))
    wait_until(lambda: served.hub.feeds["cam"].live is not None, 10, "the stream opened")
    status, body = healthz(served.url)
    assert status == 503 and body["failing"]["cam"]["state"] == "starting"
    rtsp_server_stopped.start()
    wait_until(lambda: healthz(served.url)[0] == 200, 20, "/healthz 200 once frames come")


def test_viewers_share_one_encode_per_frame(serve, rtsp_server, tmp_path):
    served = serve(config(rtsp_stream("cam", rtsp_server.url, tmp_path)))
    feed = served.hub.feeds["cam"]
    served.wait_frames("cam", 25)
    assert feed.encodes == 0  # nobody watched: nothing encoded
    ws_url = served.url.replace("http://", "ws://") + "/live/cam"
    received = [0] * 5
    done = threading.Event()

    def viewer(i: int) -> None:
        with connect(ws_url, origin=served.url) as ws:
            while not done.is_set():
                ws.send("annotated")
                while isinstance(ws.recv(timeout=5), str):  # "waiting" while no new frame
                    pass
                received[i] += 1

    threads = [threading.Thread(target=viewer, args=(i,)) for i in range(5)]
    seq0 = feed.seq
    for t in threads:
        t.start()
    wait_until(lambda: min(received) >= 10, 30, f"10 frames per viewer (have {received})")
    done.set()
    for t in threads:
        t.join(10)
    published = feed.seq - seq0
    assert feed.encodes <= published + 1  # at most one encode per frame ...
    assert sum(received) > 2 * feed.encodes  # ... shared by the viewers
    wait_until(lambda: feed.watchers == 0, 5, "viewers counted off")
    encodes = feed.encodes
    served.wait_frames("cam", feed.seq + 10)
    assert feed.encodes == encodes  # nobody watches again: no more encodes


def test_a_viewer_that_does_not_ask_gets_nothing_queued(serve, rtsp_server, tmp_path):
    served = serve(config(rtsp_stream("cam", rtsp_server.url, tmp_path)))
    served.wait_frames("cam", 5)
    feed = served.hub.feeds["cam"]
    with connect(served.url.replace("http://", "ws://") + "/live/cam", origin=served.url) as ws:
        ws.send("mask")
        assert isinstance(ws.recv(timeout=10), bytes)
        seq = feed.seq
        with pytest.raises(TimeoutError):  # no ask, no frame: nothing piles up for this viewer
            ws.recv(timeout=2)
        assert feed.seq >= seq + 20  # while the stream went on at 25 fps
        ws.send("reference")
        assert isinstance(ws.recv(timeout=10), bytes)  # asked again: a picture at once
