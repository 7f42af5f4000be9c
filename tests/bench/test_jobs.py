"""Result folders and their completion marker: what counts as complete, what is redone."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from streamcd.bench.jobs import (
    MARKER,
    Job,
    identity,
    is_complete,
    job_complete,
    missing_frames,
    run_job,
    write_marker,
)
from streamcd.bench.pool import Progress
from streamcd.bench.runner import RunSpec
from tests.bench.conftest import square_video
from tests.conftest import REPO


@pytest.fixture
def job(tmp_path):
    video = square_video(tmp_path / "dataset", "baseline/squares", frames=30)
    return Job(RunSpec("mog2", video.root, tmp_path / "results" / "mog2" / video.key), video,
               (video.first, video.last))


def test_a_finished_job_is_complete_and_reused(job):
    first = run_job(job)
    assert not first.reused and first.run.frames == 30
    assert is_complete(job.folder, "mog2", 30)
    assert json.loads((job.folder / MARKER).read_text())["frames"] == 30
    assert [p.name for p in job.folder.iterdir() if p.name.endswith(".tmp")] == []
    again = run_job(job)
    assert again.reused and again.run == first.run and again.score == first.score


def test_a_folder_missing_one_frame_is_not_complete_and_is_redone(job):
    run_job(job)
    (job.folder / "bin000017.png").unlink()
    assert missing_frames(job.folder, 30) == [17]
    assert not is_complete(job.folder, "mog2", 30)
    redone = run_job(job)
    assert not redone.reused and missing_frames(job.folder, 30) == []


@pytest.mark.parametrize(("method", "count"), [
    ("knn", 30),   # the marker is another method's
    ("mog2", 31),  # the video has another length now
])
def test_a_marker_of_another_run_is_not_complete(job, method, count):
    run_job(job)
    assert not is_complete(job.folder, method, count)


def test_an_interrupted_job_leaves_no_marker_even_over_a_complete_folder(job):
    """Ctrl-C (KeyboardInterrupt) in the middle of a forced rerun: every frame of the earlier
    run is still there, but the folder must not look complete."""
    run_job(job)
    seen = []

    def interrupt(k):
        seen.append(k)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(job, force=True, on_frames=interrupt)
    assert missing_frames(job.folder, 30) == []
    assert not (job.folder / MARKER).exists()
    assert not is_complete(job.folder, "mog2", 30)
    assert not run_job(job).reused


@pytest.mark.parametrize(("elapsed", "done", "to_run", "eta"), [
    (10.0, 0, 100, None),     # nothing processed yet: unknown
    (10.0, 25, 100, 30.0),    # 25 frames in 10 s: 75 left take 30 s
    (10.0, 100, 100, 0.0),    # all done
])
def test_eta_from_the_frames_processed(elapsed, done, to_run, eta):
    progress = Progress(jobs=4, frames_to_run=to_run, started=0.0, now=lambda: elapsed,
                        frames_done=done)
    assert progress.eta_s() == (None if eta is None else pytest.approx(eta))


def test_a_marker_of_another_model_is_not_complete(job):
    """The model's folder names only the method: a resumed run with another --model card must
    not take the first model's masks as its own."""
    run = run_job(job).run
    default = Job(replace(job.spec, method="streamcd", model=None), job.video, job.frames)
    write_marker(job.folder, replace(run, method="streamcd"), identity(default.spec))
    assert job_complete(default)
    card = REPO / "export" / "accurate.json"
    accurate = Job(replace(default.spec, model=str(card)), job.video, job.frames)
    assert not job_complete(accurate)
    assert not job_complete(Job(replace(default.spec, background_init="median"), job.video,
                                job.frames))
