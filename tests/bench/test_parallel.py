"""``streamcd bench cdnet`` at scale, real runs through the CLI: ``--jobs 2`` against
``--jobs 1``, a SIGKILLed run resumed, the Ray backend on a local Ray instance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from streamcd.bench.jobs import MARKER, is_complete
from streamcd.cli import main
from tests.bench.conftest import cut_video, square_video
from tests.conftest import REPO

GENERATED = ("baseline/squares", "baseline/squares2", "dynamic/squares3")


def squares_dataset(root: Path, frames: int = 60, size=(160, 120)) -> Path:
    for seed, key in enumerate(GENERATED):
        square_video(root, key, frames=frames, size=size, seed=seed)
    return root


@pytest.fixture(scope="module")
def squares(tmp_path_factory) -> Path:
    return squares_dataset(tmp_path_factory.mktemp("squares"))


def bench(dataset: Path, out: Path, methods: str, *extra: str) -> dict:
    code = main(["bench", "cdnet", "--dataset", str(dataset), "--methods", methods, "--out",
                 str(out), "--no-plots", "--pr-frames", "0", "--threads", "1", *extra])
    assert code == 0
    return json.loads((out / "report.json").read_text())


def masks(out: Path, methods=None) -> dict[str, bytes]:
    """{results-relative path: decoded pixels} of every result frame."""
    found = {}
    for path in sorted((out / "results").rglob("bin*.png")):
        rel = path.relative_to(out / "results")
        if methods is None or rel.parts[0] in methods:
            found[str(rel)] = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).tobytes()
    return found


def scores(report: dict, methods=None) -> dict:
    return {m: v["scores"] for m, v in report["methods"].items()
            if methods is None or m in methods}


@pytest.fixture(scope="module")
def one_and_two(squares, tmp_path_factory):
    """The same bench with --jobs 1 and --jobs 2: streamcd, MOG2 and KNN on three videos."""
    out = tmp_path_factory.mktemp("jobs")
    return {n: (out / str(n), bench(squares, out / str(n), "streamcd,mog2,knn", "--jobs", str(n)))
            for n in (1, 2)}


def test_two_jobs_give_the_same_masks_and_scores_as_one(one_and_two):
    (out1, report1), (out2, report2) = one_and_two[1], one_and_two[2]
    assert len(masks(out1)) == 3 * 3 * 60
    assert masks(out1) == masks(out2)
    assert scores(report1) == scores(report2)
    assert report1["cdnet_view"] == report2["cdnet_view"]
    assert report1["protocol"]["scored_frames"] == "roi"  # the default: the official range


def test_the_report_records_jobs_and_warns_about_shared_timings(one_and_two):
    for n, (out, report) in one_and_two.items():
        assert report["run"]["jobs"] == n and report["run"]["shared_timings"] == (n > 1)
        assert report["run"]["reused"] == [] and report["run"]["jobs_total"] == 9
        text = (out / "report.md").read_text()
        assert (f"{n} at once" in text) and ("sharing the machine" in text) == (n > 1)
        assert "whole temporalROI" in text and "## changedetection.net view" in text


def test_two_jobs_on_real_cdnet_videos(shared_data, tmp_path):
    """Real frames of two categories (highway, pedestrians, traffic: 80 frames each)."""
    cdnet = shared_data / "cdnet2014"
    cuts = {"baseline/highway": 421, "baseline/pedestrians": 251, "cameraJitter/traffic": 851}
    for key, start in cuts.items():
        if not (cdnet / key / "input").is_dir():
            pytest.skip(f"real-data test: {cdnet / key} is absent")
        cut_video(cdnet / key, tmp_path / "dataset", key, start, 80, 50)
    reports = {n: bench(tmp_path / "dataset", tmp_path / str(n), "streamcd,mog2", "--jobs", str(n))
               for n in (1, 2)}
    assert masks(tmp_path / "1") == masks(tmp_path / "2")
    assert scores(reports[1]) == scores(reports[2])
    assert reports[1]["cdnet_view"] == reports[2]["cdnet_view"]
    assert set(reports[1]["cdnet_view"]["categories"]) == {"baseline", "cameraJitter"}


def _folders(out: Path) -> list[Path]:
    return sorted(p for p in (out / "results").glob("*/*/*") if p.is_dir())


@pytest.mark.parametrize("how", [
    "SIGKILL",  # the bench process alone is killed: its worker is orphaned and must stop
    "Ctrl-C",   # SIGINT to the whole process group, as a terminal sends it
])
def test_an_interrupted_run_resumes_to_the_same_report(tmp_path, how):
    dataset = squares_dataset(tmp_path / "dataset", frames=300, size=(320, 240))
    reference = bench(dataset, tmp_path / "reference", "mog2,knn", "--jobs", "1")
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # A shell's background job starts with SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: start the bench with the default disposition a terminal gives.
    launcher = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "os.execv(sys.executable, [sys.executable, '-m', 'streamcd.cli', *sys.argv[1:]])")
    process = subprocess.Popen(
        [sys.executable, "-c", launcher, "bench", "cdnet", "--dataset", str(dataset),
         "--methods", "mog2,knn", "--out", str(out), "--no-plots", "--pr-frames", "0",
         "--jobs", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.monotonic() + 120
    partial = None
    try:
        while partial is None:  # kill once a job is complete and the next one is half-written
            assert time.monotonic() < deadline, "the bench never got half-way"
            assert process.poll() is None, "the bench ended before it could be killed"
            folders = (_folders(out) if (out / "results").is_dir() else [])
            done = [f for f in folders if (f / MARKER).exists()]
            started = [f for f in folders if not (f / MARKER).exists()
                       and len(list(f.glob("bin*.png"))) >= 20]
            if done and started:
                partial = started[0]
            else:
                time.sleep(0.01)
        if how == "SIGKILL":
            process.send_signal(signal.SIGKILL)
        else:
            os.killpg(process.pid, signal.SIGINT)
            assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.wait()
    time.sleep(1.0)  # an orphaned worker notices its parent is gone at its next frame
    written = len(list(partial.glob("bin*.png")))
    time.sleep(0.5)
    assert len(list(partial.glob("bin*.png"))) == written, "a worker outlived the bench"
    complete = [f for f in _folders(out) if is_complete(f, f.parts[-3], 300)]
    assert 0 < len(complete) < 6 and partial not in complete
    assert not (partial / MARKER).exists()

    resumed = bench(dataset, out, "mog2,knn", "--jobs", "1")
    labels = sorted(f"{f.parts[-3]} {f.parts[-2]}/{f.parts[-1]}" for f in complete)
    assert sorted(resumed["run"]["reused"]) == labels  # only the unfinished jobs ran again
    assert scores(resumed) == scores(reference)
    assert resumed["cdnet_view"] == reference["cdnet_view"]
    assert masks(out) == masks(tmp_path / "reference")


def test_force_reruns_complete_jobs(one_and_two, squares, tmp_path):
    out = tmp_path / "forced"
    bench(squares, out, "mog2", "--jobs", "1", "--videos", "squares")
    again = bench(squares, out, "mog2", "--jobs", "1", "--videos", "squares")
    forced = bench(squares, out, "mog2", "--jobs", "1", "--videos", "squares", "--force")
    assert again["run"]["reused"] == ["mog2 baseline/squares"] and forced["run"]["reused"] == []
    assert scores(forced) == scores(again)


def test_ray_backend_gives_the_same_scores(one_and_two, squares, tmp_path):
    pytest.importorskip("ray", reason="needs the ray extra: pip install 'streamcd[ray]'")
    out1, report1 = one_and_two[1]
    report = bench(squares, tmp_path / "ray", "mog2,knn", "--backend", "ray", "--jobs", "2")
    assert report["run"]["backend"] == "ray"
    assert scores(report) == scores(report1, ("mog2", "knn"))
    assert masks(tmp_path / "ray") == masks(out1, ("mog2", "knn"))


@pytest.mark.parametrize(("args", "message"), [
    (["--jobs", "0"], "expected a whole number >= 1"),       # argparse usage error
    (["--jobs", "2", "--in-process"], "use --jobs 1"),       # ConfigError
])
def test_bad_jobs_is_one_clear_error(squares, tmp_path, capsys, args, message):
    argv = ["bench", "cdnet", "--dataset", str(squares), "--methods", "mog2", "--out",
            str(tmp_path / "out"), "--no-plots", *args]
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.json").exists()


def test_zip_per_method_passes_the_layout_check(squares, one_and_two):
    from streamcd.bench.upload import check_upload
    from streamcd.cdnet_layout import find_videos

    out, _ = one_and_two[1]
    bench(squares, out, "streamcd,mog2,knn", "--jobs", "1", "--zip")
    for method in ("streamcd", "mog2", "knn"):
        assert check_upload(out / "upload" / f"{method}.zip", find_videos(squares)) == []
    with zipfile.ZipFile(out / "upload" / "knn.zip") as archive:  # the bench's own masks
        data = archive.read("results/baseline/squares/bin000042.png")
    assert np.array_equal(
        cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED),
        cv2.imread(str(out / "results" / "knn" / "baseline" / "squares" / "bin000042.png"),
                   cv2.IMREAD_UNCHANGED))


def test_the_report_is_rebuilt_from_the_result_folders_alone(one_and_two, squares, tmp_path):
    out, report = one_and_two[2]
    rebuilt = tmp_path / "score.json"
    assert main(["bench", "score", "--dataset", str(squares), "--tree", str(out / "results"),
                 "--json", str(rebuilt)]) == 0
    data = json.loads(rebuilt.read_text())
    assert data["methods"] == scores(report)
    assert data["cdnet_view"] == report["cdnet_view"]


def test_check_upload_cli(squares, one_and_two, tmp_path, capsys):
    from streamcd.bench.upload import write_upload_zip
    from streamcd.cdnet_layout import find_videos

    out, _ = one_and_two[1]
    target = write_upload_zip(out / "results" / "mog2", find_videos(squares), tmp_path / "m.zip")
    assert main(["bench", "check-upload", str(target), "--dataset", str(squares)]) == 0
    assert "follows the upload layout" in capsys.readouterr().out
    # a method's folder is not the layout: it lacks the results/ root
    assert main(["bench", "check-upload", str(out / "results" / "mog2"), "--dataset",
                 str(squares)]) == 1
    printed = capsys.readouterr().out
    assert "not results/<category>/<video>/bin%06d.png" in printed and "... and" in printed


def test_a_failed_job_does_not_stop_the_others(tmp_path, capsys):
    """One video has an undecodable frame: its jobs fail, the others complete, the command
    exits 1 with every failure listed and writes no report; once the frame is fixed, only the
    failed jobs run again."""
    dataset = squares_dataset(tmp_path / "dataset", frames=30)
    frame = dataset / "baseline" / "squares2" / "input" / "in000005.jpg"
    good = frame.read_bytes()
    frame.write_bytes(b"not a jpeg")
    argv = ["bench", "cdnet", "--dataset", str(dataset), "--methods", "mog2,knn", "--out",
            str(tmp_path / "out"), "--no-plots", "--pr-frames", "0", "--jobs", "2"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "2 of 6 job(s) failed" in err
    assert "mog2 baseline/squares2" in err and "knn baseline/squares2" in err
    assert not (tmp_path / "out" / "report.json").exists()
    frame.write_bytes(good)
    report = bench(dataset, tmp_path / "out", "mog2,knn", "--jobs", "2")
    assert sorted(report["run"]["reused"]) == sorted(
        f"{m} {key}" for m in ("mog2", "knn") for key in GENERATED if key != "baseline/squares2")
