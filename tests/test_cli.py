"""The ``streamcd`` command line, as a real subprocess and in-process through ``main()``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import onnxruntime
import pytest

import streamcd
from streamcd.cli import main
from streamcd.sources.hwdecode import hwaccel_unavailable
from tests.conftest import square_frames, write_clip

N = 24  # frames of the generated clip


def cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamcd.cli", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def pipeline_yaml(folder: Path, clip: str = "clip.mp4", sinks: str | None = None) -> Path:
    """A one-stream pipeline in ``folder`` reading ``clip`` and writing all four sink types."""
    sinks = (
        sinks
        or """
      - {type: cdnet, dir: out/results}
      - {type: jsonl, path: out/events.jsonl}
      - {type: mask_video, path: out/masks.mp4}
      - {type: annotated_video, path: out/annotated.mp4}"""
    )
    path = folder / "pipeline.yaml"
    path.write_text(f"""model: {{provider: cpu}}
streams:
  - name: cam
    source: {{type: video, path: {clip}}}
    sinks:{sinks}
""")
    return path


@pytest.fixture
def clip_dir(tmp_path):
    """tmp_path holding ``clip.mp4`` (N frames 160x120, moving square) and ``pipeline.yaml``."""
    write_clip(tmp_path / "clip.mp4", square_frames(N)[0])
    pipeline_yaml(tmp_path)
    return tmp_path


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def check_outputs(out: Path, n: int) -> None:
    """One cdnet mask per frame (bin000001..), n JSON lines, and both videos decode to n frames."""
    assert sorted(p.name for p in (out / "results").iterdir()) == [
        f"bin{i:06d}.png" for i in range(1, n + 1)
    ]
    mask = cv2.imread(str(out / "results" / "bin000001.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (120, 160) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255}
    lines = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(1, n + 1))
    assert {line["stream"] for line in lines} == {"cam"}
    for video in ("masks.mp4", "annotated.mp4"):
        frames = decoded_frames(out / video)
        assert len(frames) == n, video
        assert {f.shape for f in frames} == {(120, 160, 3)}, video


# ---------------------------------------------------------------------------------------------
# Subprocess


def test_version(tmp_path):
    done = cli("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"streamcd {streamcd.__version__}"


def test_info_lists_providers_and_models(tmp_path):
    done = cli("info", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "onnxruntime" in done.stdout and "providers" in done.stdout
    assert "CPUExecutionProvider" in done.stdout
    assert "models in" in done.stdout and "default" in done.stdout
    # GPU support, as this machine has it (a CPU-only one says no, it does not crash)
    available = onnxruntime.get_available_providers()
    cuda, trt = ("CUDAExecutionProvider" in available, "TensorrtExecutionProvider" in available)
    assert (f"GPU providers: cuda {'yes' if cuda else 'no'}, tensorrt {'yes' if trt else 'no'}"
            in done.stdout)
    preload = "yes" if hasattr(onnxruntime, "preload_dlls") else "no"
    assert f"onnxruntime.preload_dlls: {preload}" in done.stdout
    for device in ("cuda", "vaapi"):
        reason = hwaccel_unavailable(device)
        state = "usable" if reason is None else f"unavailable ({reason})"
        assert f"hwaccel {device}: {state}" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("preload", [True, False])  # False: an onnxruntime older than 1.21
def test_info_in_process_says_what_is_missing(capsys, monkeypatch, preload):
    if not preload:
        monkeypatch.delattr(onnxruntime, "preload_dlls", raising=False)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    if preload and hasattr(onnxruntime, "preload_dlls"):
        assert "onnxruntime.preload_dlls: yes\n" in out
    elif not preload:
        assert ("onnxruntime.preload_dlls: no (added in onnxruntime 1.21; CUDA/cuDNN must then be "
                "on LD_LIBRARY_PATH)") in out
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert "cuda no, tensorrt no (pip install 'streamcd[gpu]'" in out
    assert out.count("  hwaccel ") == 2


def test_validate_ok(clip_dir):
    done = cli("validate", "pipeline.yaml", cwd=clip_dir)
    assert done.returncode == 0, done.stderr
    assert "pipeline.yaml: ok (1 stream: cam)" in done.stdout


@pytest.mark.parametrize(
    ("text", "extra", "expected"),
    [
        # unknown key: one message naming the key, its line and the allowed keys
        (
            "streams:\n  - name: cam\n    source: {type: video, path: a.mp4, bogus: 1}\n",
            [],
            ["streams[0].source.bogus (line 3)", "allowed keys: type, path, max_frames"],
        ),
        # no `type:` (this once crashed with a KeyError traceback)
        (
            "streams:\n  - name: cam\n    source: {path: a.mp4}\n",
            [],
            ["streams[0].source (line 3)", "missing key 'type'"],
        ),
        # YAML syntax error
        ("streams:\n  - name: cam\n\tsource: {}\n", [], ["line 3", "YAML syntax error"]),
        # a bad --set index
        (
            "streams:\n  - name: cam\n    source: {type: video, path: a.mp4}\n",
            ["--set", "streams[2].name=x"],
            ["index 2 is out of range: streams has 1 item (valid index: 0)"],
        ),
        # two sinks on one output: both named, with their stream and type
        (
            ("streams:\n  - name: cam\n    source: {type: video, path: a.mp4}\n"
             "    sinks: [{type: jsonl, path: e.jsonl}, {type: cdnet, dir: e.jsonl}]\n"),
            [],
            ["streams (line 1)",
             ("streams[0].sinks[0] (stream cam, jsonl path e.jsonl) and "
              "streams[0].sinks[1] (stream cam, cdnet dir e.jsonl) both write"),
             "give each sink its own output path"],
        ),
    ],
    ids=["unknown-key", "missing-type", "yaml-syntax", "bad-set-index", "shared-output"],
)
def test_validate_bad_config_exits_2_with_one_message(tmp_path, text, extra, expected):
    (tmp_path / "bad.yaml").write_text(text)
    done = cli("validate", "bad.yaml", *extra, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: ") and sum(line.startswith("error") for line in lines) == 1
    for part in expected:
        assert part in done.stderr
    assert "Traceback" not in done.stderr


def test_run_writes_one_output_per_frame(clip_dir):
    done = cli("run", "pipeline.yaml", cwd=clip_dir)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"cam: {N} frames" in done.stderr and "provider cpu" in done.stderr
    check_outputs(clip_dir / "out", N)


def test_run_missing_input_exits_1_without_traceback(clip_dir):
    done = cli("run", "pipeline.yaml", "--set", "streams[0].source.path=absent.mp4", cwd=clip_dir)
    assert done.returncode == 1
    assert "error: stream cam: video file not found: absent.mp4" in done.stderr
    assert "Traceback" not in done.stderr
    # Once: the pipeline's log record of the failure is kept off the console (it once showed
    # as "ERROR streamcd.pipeline: stream cam stopped: ..." above the error line).
    assert done.stderr.count("video file not found") == 1, done.stderr


def test_run_truncated_video_exits_1_after_writing_what_decodes(tmp_path):
    data = write_clip(tmp_path / "full.mp4", square_frames(N)[0],
                      options={"movflags": "faststart"}).read_bytes()
    (tmp_path / "clip.mp4").write_bytes(data[: len(data) * 7 // 10])
    pipeline_yaml(tmp_path, sinks="""
      - {type: jsonl, path: out/events.jsonl}
      - {type: mask_video, path: out/masks.mp4}""")
    done = cli("run", "pipeline.yaml", cwd=tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "decoding stopped" in line]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("error: stream cam: clip.mp4: decoding stopped after frame")
    read = int(errors[0].split("after frame ")[1].split()[0])
    assert 0 < read < N and "Traceback" not in done.stderr
    assert len(decoded_frames(tmp_path / "out" / "masks.mp4")) == read


def test_sigint_finishes_outputs(tmp_path):
    write_clip(tmp_path / "long.mp4", square_frames(600)[0])
    pipeline_yaml(
        tmp_path,
        "long.mp4",
        """
      - {type: jsonl, path: out/events.jsonl}
      - {type: annotated_video, path: out/annotated.mp4}""",
    )
    jsonl = tmp_path / "out" / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamcd.cli", "run", "pipeline.yaml"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (jsonl.exists() and "\n" in jsonl.read_text()):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no output after 60 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "SIGINT received" in stderr and "Traceback" not in stderr
    written = [json.loads(line)["frame"] for line in jsonl.read_text().splitlines()]
    frames = decoded_frames(tmp_path / "out" / "annotated.mp4")
    assert 0 < len(frames) < 600  # stopped early, and the MP4 was finished properly
    assert len(frames) == len(written) and written == list(range(1, len(written) + 1))


# ---------------------------------------------------------------------------------------------
# In-process


def test_version_in_process(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"streamcd {streamcd.__version__}"


def test_run_in_process_restores_the_signal_handlers(clip_dir, monkeypatch, capsys):
    monkeypatch.chdir(clip_dir)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert main(["run", "pipeline.yaml", "--quiet"]) == 0
    check_outputs(clip_dir / "out", N)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert capsys.readouterr().err == ""  # --quiet: no summary


@pytest.mark.parametrize("max_frames", [1, 7, N + 10])
def test_max_frames(clip_dir, monkeypatch, max_frames):
    monkeypatch.chdir(clip_dir)
    assert main(["run", "pipeline.yaml", "--quiet", "--max-frames", str(max_frames)]) == 0
    check_outputs(clip_dir / "out", min(max_frames, N))


@pytest.mark.parametrize(
    "override",
    [
        "streams[0].sinks[0].dir=blocker/results",
        "streams[0].sinks[1].path=blocker/events.jsonl",
        "streams[0].sinks[2].path=blocker/masks.mp4",
        "streams[0].sinks[3].path=blocker/annotated.mp4",
    ],
)
def test_unwritable_output_fails_with_a_clear_message(clip_dir, monkeypatch, capsys, override):
    monkeypatch.chdir(clip_dir)
    (clip_dir / "blocker").write_text("a regular file, not a folder")
    assert main(["run", "pipeline.yaml", "--quiet", "--set", override]) == 1
    err = capsys.readouterr().err
    assert "error: stream cam:" in err and "cannot write to folder blocker" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        ([], 2, "usage: streamcd"),  # no command: help
        (["run", "pipeline.yaml", "--max-frames", "0"], 2, "--max-frames must be at least 1"),
        (["run", "absent.yaml"], 2, "absent.yaml: config file not found"),
        (
            ["validate", "pipeline.yaml", "--set", "model.provider=gpu"],
            2,
            "model.provider (from --set model.provider=gpu)",
        ),
        (["run", "pipeline.yaml", "--set", "model.path=absent.json"], 1, "model card not found"),
        # a device or a big file given as the config is refused, not read forever
        (["validate", "/dev/zero"], 2, "/dev/zero: larger than 1 MiB; is it a pipeline YAML?"),
        # an index past the end of a list names the index and the list's length
        (
            ["run", "pipeline.yaml", "--set", "streams.0.sinks.7.path=x"],
            2,
            "index 7 is out of range: streams[0].sinks has 4 items (valid indexes: 0..3)",
        ),
    ],
)
def test_exit_codes(clip_dir, monkeypatch, capsys, argv, code, expected):
    monkeypatch.chdir(clip_dir)
    assert main(argv) == code
    captured = capsys.readouterr()
    assert expected in captured.out + captured.err
