"""A wrong Ray ``--address`` is one clear error within seconds (``ray.init`` alone retries an
address where nothing listens for minutes), for ``streamcd run`` and ``streamcd bench``."""

from __future__ import annotations

import socket
import time

import pytest

from streamcd.cli import main
from streamcd.cluster.connect import probe, tcp_endpoint
from streamcd.errors import ClusterError
from tests.bench.conftest import square_video


@pytest.fixture
def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("address", "endpoint"), [
    ("auto", None),
    ("local", None),
    ("head:6379", ("head", 6379)),
    ("ray://10.0.0.5:10001", ("10.0.0.5", 10001)),
    ("[::1]:6379", ("::1", 6379)),
])
def test_tcp_endpoint_of_the_address_forms(address, endpoint):
    assert tcp_endpoint(address) == endpoint


@pytest.mark.parametrize("address", ["head", "ray://head", "head:port", ":6379", "head:70000"])
def test_address_that_is_not_host_port_is_refused(address):
    with pytest.raises(ClusterError, match="HOST:PORT"):
        tcp_endpoint(address)


def test_probe_tells_a_listening_port_from_a_closed_one(closed_port):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        probe(f"127.0.0.1:{server.getsockname()[1]}")  # accepted: no error
    with pytest.raises(ClusterError, match="cannot reach the Ray cluster"):
        probe(f"ray://127.0.0.1:{closed_port}")
    probe("auto")  # not probed: Ray finds a local cluster itself


def test_run_with_an_unreachable_address_fails_fast(closed_port, tmp_path, capsys):
    pytest.importorskip("ray", reason="needs the ray extra: pip install 'streamcd[ray]'")
    yaml = tmp_path / "run.yaml"
    yaml.write_text("streams: [{name: cam, source: {type: video, path: clip.mp4}}]\n")
    start = time.monotonic()
    code = main(["run", str(yaml), "--backend", "ray", "--address", f"127.0.0.1:{closed_port}"])
    assert code == 1 and time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert f"cannot reach the Ray cluster at '127.0.0.1:{closed_port}'" in err
    assert "Traceback" not in err


def test_bench_with_an_unreachable_address_fails_fast(closed_port, tmp_path, capsys):
    pytest.importorskip("ray", reason="needs the ray extra: pip install 'streamcd[ray]'")
    square_video(tmp_path / "data", "baseline/squares", frames=12)
    out = tmp_path / "out"
    start = time.monotonic()
    code = main(["bench", "cdnet", "--dataset", str(tmp_path / "data"), "--methods", "mog2",
                 "--out", str(out), "--backend", "ray", "--address", f"127.0.0.1:{closed_port}"])
    assert code == 1 and time.monotonic() - start < 30
    assert "cannot reach the Ray cluster" in capsys.readouterr().err
    assert not (out / "report.json").exists()
