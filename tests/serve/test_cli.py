"""``streamcd serve`` from the command line: bad options exit 2, a taken port exits 1, Ctrl-C
stops server and pipeline and finishes the outputs."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading

import av
import pytest

from streamcd.cli import main
from tests.conftest import wait_until

from .test_app import get

YAML = """\
model: {{provider: cpu, threads: 1}}
streams:
  - name: cam
    source: {{type: rtsp, url: "{url}", open_timeout_s: 2, read_timeout_s: 1}}
    background: {{frames: 3, stride: 1}}
    sinks:
      - {{type: jsonl, path: out/cam.jsonl}}
      - {{type: annotated_video, path: out/cam.mp4}}
"""


@pytest.fixture
def yaml_file(tmp_path):
    path = tmp_path / "camera.yaml"
    path.write_text(YAML.format(url="rtsp://127.0.0.1:9/none"))
    return path


@pytest.mark.parametrize("args, env, message", [
    # another address without a token
    (["--host", "0.0.0.0"], {}, "--host 0.0.0.0 lets other machines see the cameras"),
    (["--port", "70000"], {}, "--port must be 0..65535"),
    (["--token", " "], {}, "the token is empty"),
    (["--view-fps", "0"], {}, "--view-fps must be above 0"),
    (["--host", "0.0.0.0"], {"STREAMCD_TOKEN": ""}, "the token is empty"),
])
def test_bad_options_exit_2(yaml_file, monkeypatch, capsys, args, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["serve", str(yaml_file), *args]) == 2
    assert message in capsys.readouterr().err


def test_taken_port_exits_1(yaml_file, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(yaml_file), "--port", str(port), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err


def test_ctrl_c_stops_server_and_pipeline(rtsp_server, tmp_path):
    (tmp_path / "camera.yaml").write_text(YAML.format(url=rtsp_server.url))
    proc = subprocess.Popen([sys.executable, "-m", "streamcd.cli", "serve", "camera.yaml",
                             "--port", "0"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any(x.startswith("live view: ") for x in lines) or proc.poll(), 60,
                   "the live view address")
        url = next(x for x in lines if x.startswith("live view: "))[11:].strip().rstrip("/")
        wait_until(lambda: get(url + "/healthz")[0] == 200, 30, "/healthz 200")

        def frames() -> int:
            stream = json.loads(get(url + "/api/streams/cam")[2])
            assert stream["state"] == "running"
            return stream["stats"]["frames"]

        wait_until(lambda: frames() >= 10, 30, "10 frames")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    with av.open(str(tmp_path / "out" / "cam.mp4")) as video:  # finished, playable
        assert sum(1 for _ in video.decode(video=0)) > 0
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError):  # the server is gone with it
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_the_cli_stays_light_without_serve():
    """Building the parser (every streamcd command) imports neither the server's packages nor
    the pipeline: `streamcd --help` works without streamcd[serve] and starts fast."""
    code = ("import sys, streamcd.cli as c; c._parser(); "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'prometheus_client', "
            "'streamcd.pipeline', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
