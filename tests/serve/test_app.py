"""HTTP behaviour of ``streamcd serve``'s server against a real pipeline on 127.0.0.1."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import wait_until

from .conftest import clip_stream, config


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """(status, headers with lower-case names, body) of a GET; redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


@pytest.fixture
def served_clip(serve, clip, tmp_path):
    """The generated clip served, run to its end (the server keeps serving)."""
    served = serve(config(clip_stream("cam", clip, tmp_path)))
    served.wait_frames("cam", 60)
    wait_until(lambda: served.hub.feeds["cam"].status().state == "ended", 10, "stream end")
    return served


def test_metrics_parse_and_match_the_run(served_clip):
    status, headers, body = get(served_clip.url + "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}
    cam = (("stream", "cam"),)
    assert families["streamcd_frames"].type == "counter"
    assert samples[("streamcd_frames_total", cam)] == 60  # every frame of the clip
    assert samples[("streamcd_failed", cam)] == 0 and samples[("streamcd_up", cam)] == 1
    assert samples[("streamcd_threshold", cam)] == pytest.approx(
        served_clip.hub.feeds["cam"].threshold())
    p99 = samples[("streamcd_latency_seconds", (("quantile", "0.99"), ("stream", "cam")))]
    assert math.isfinite(p99) and 0 < p99 < 10
    assert "process_resident_memory_bytes" in families or "process_resident_memory" in families


def test_api_snapshot_and_healthz(served_clip, clip):
    status, _, body = get(served_clip.url + "/api/streams")
    assert status == 200
    (cam,) = json.loads(body)["streams"]
    assert cam["name"] == "cam" and cam["state"] == "ended" and cam["stats"]["frames"] == 60
    status, headers, body = get(served_clip.url + "/snapshot/cam.jpg")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (120, 160, 3)
    status, _, body = get(served_clip.url + "/snapshot/cam.jpg?view=mask")
    mask = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert status == 200 and (mask > 128).mean() > 0.01  # the square is foreground
    status, _, body = get(served_clip.url + "/snapshot/cam.jpg?view=reference")
    reference = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    # The reference is the background (no square), the last frame has the square at the right.
    assert status == 200 and np.abs(reference.astype(int) - image.astype(int)).mean() > 1
    status, _, body = get(served_clip.url + "/healthz")
    assert status == 200 and json.loads(body) == {"ok": True, "failing": {}}


@pytest.mark.parametrize("path", [
    "/snapshot/nope.jpg",  # unknown stream
    "/api/streams/nope",  # unknown stream
    "/snapshot/..%2F..%2Fetc%2Fpasswd.jpg",  # never a file path
    "/static/../setup.cfg",  # no file route at all
])
def test_unknown_is_404(served_clip, path):
    status, _, body = get(served_clip.url + path)
    assert status == 404 and "error" in json.loads(body)


def test_bad_view_is_400(served_clip):
    status, _, body = get(served_clip.url + "/snapshot/cam.jpg?view=depth")
    assert status == 400 and "annotated" in json.loads(body)["error"]


def refused(ws_url: str, **kwargs) -> int:
    """The HTTP status a WebSocket handshake was refused with."""
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, **kwargs).close()
    return refused.value.response.status_code


def test_websocket_unknown_stream_is_404(served_clip):
    assert refused(served_clip.url.replace("http://", "ws://") + "/live/nope") == 404


def test_token_refused_and_accepted(serve, clip, tmp_path):
    served = serve(config(clip_stream("cam", clip, tmp_path)), token="s3cret")
    served.wait_frames("cam", 5)
    url = served.url
    for path in ("/", "/metrics", "/api/streams", "/snapshot/cam.jpg", "/snapshot/nope.jpg"):
        assert get(url + path)[0] == 401, path  # refused before anything else, even a 404
        assert get(url + path, {"Authorization": "Bearer wrong"})[0] == 401, path
    assert get(url + "/metrics", {"Authorization": "Bearer s3cret"})[0] == 200
    assert get(url + "/snapshot/nope.jpg", {"Authorization": "Bearer s3cret"})[0] == 404
    assert get(url + "/healthz")[0] in (200, 503)  # open to load balancers
    # /?token= sets the cookie the page's own requests then carry.
    status, headers, _ = get(url + "/?token=s3cret")
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"].split(";")[0]
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=strict" in headers["set-cookie"]
    assert get(url + "/api/streams", {"Cookie": cookie})[0] == 200
    ws_url = url.replace("http://", "ws://") + "/live/cam"
    assert refused(ws_url) == 401
    with connect(ws_url, additional_headers={"Cookie": cookie}) as ws:
        ws.send("annotated")
        assert isinstance(ws.recv(timeout=10), bytes)


def test_websocket_from_another_site_is_refused(served_clip):
    ws_url = served_clip.url.replace("http://", "ws://") + "/live/cam"
    assert refused(ws_url, origin="http://evil.example") == 403
    with connect(ws_url, origin=served_clip.url) as ws:  # the page's own origin
        ws.send("annotated")
        assert isinstance(ws.recv(timeout=10), bytes)
