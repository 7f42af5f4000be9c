"""The changedetection.net upload zip and its layout checker, rule by rule."""

from __future__ import annotations

import zipfile

import cv2
import numpy as np
import pytest

from streamcd.bench.upload import check_upload, write_upload_zip
from streamcd.errors import UploadLayoutError

W, H, FRAMES = 40, 30, 6


@pytest.fixture
def dataset(make_video):
    """Two videos of 6 frames, 40x30 input."""
    gt = [np.zeros((H, W), np.uint8)] * FRAMES
    return [make_video("baseline/a", gt, (2, FRAMES)), make_video("shadow/b", gt, (2, FRAMES))]


def good_results(root, videos):
    """``root/<category>/<video>/bin%06d.png`` for every frame: a 0/255 mask, input size."""
    for video in videos:
        folder = root / video.category / video.name
        folder.mkdir(parents=True)
        for n in range(1, video.count + 1):
            mask = np.zeros((H, W), np.uint8)
            mask[n:n + 5, n:n + 5] = 255
            cv2.imwrite(str(folder / f"bin{n:06d}.png"), mask)
    return root


def test_zip_of_a_complete_result_passes_the_check(dataset, tmp_path):
    results = good_results(tmp_path / "mine", dataset)
    (results / "baseline" / "a" / ".streamcd-complete.json").write_text("{}")  # not zipped
    target = write_upload_zip(results, dataset, tmp_path / "upload" / "mine.zip")
    names = zipfile.ZipFile(target).namelist()
    assert sorted(names) == sorted(f"results/{v.key}/bin{n:06d}.png"
                                   for v in dataset for n in range(1, FRAMES + 1))
    assert check_upload(target, dataset) == []


def _break(results, rule):
    a = results / "baseline" / "a"
    if rule == "missing frame":
        (a / "bin000003.png").unlink()
    elif rule == "frame beyond the video":
        cv2.imwrite(str(a / "bin000007.png"), np.zeros((H, W), np.uint8))
    elif rule == "stray file":
        (a / "notes.txt").write_text("x")
    elif rule == "wrong size":
        cv2.imwrite(str(a / "bin000002.png"), np.zeros((H * 2, W * 2), np.uint8))
    elif rule == "three channels":
        cv2.imwrite(str(a / "bin000002.png"), np.zeros((H, W, 3), np.uint8))
    elif rule == "grey value":
        cv2.imwrite(str(a / "bin000002.png"), np.full((H, W), 128, np.uint8))
    elif rule == "jpeg named png":
        cv2.imwrite(str(a / "x.jpg"), np.zeros((H, W), np.uint8))
        (a / "x.jpg").replace(a / "bin000002.png")
    elif rule == "missing video":
        for p in (results / "shadow" / "b").iterdir():
            p.unlink()
        (results / "shadow" / "b").rmdir()
    elif rule == "unknown video":
        (results / "baseline" / "zzz").mkdir()
        cv2.imwrite(str(results / "baseline" / "zzz" / "bin000001.png"), np.zeros((H, W), np.uint8))


@pytest.mark.parametrize(("rule", "message"), [
    ("missing frame", "1 of 6 frames missing (first bin000003.png)"),   # rule 3
    ("frame beyond the video", "beyond the video's 6"),                 # rule 3
    ("stray file", "notes.txt: not results/<category>/<video>/bin%06d.png"),  # rule 1
    ("wrong size", "is 80x60, the input frames are 40x30"),             # rule 4
    ("three channels", "not 8-bit single channel"),                    # rule 4
    ("grey value", "holds values [128], only 0 and 255"),               # rule 5
    ("jpeg named png", "bin000002.png is not a PNG"),                   # rule 4
    ("missing video", "results/shadow/b/: missing"),                    # rule 2
    ("unknown video", "results/baseline/zzz/: no such video"),          # rule 2
])
def test_each_broken_rule_is_named(dataset, tmp_path, rule, message):
    results = good_results(tmp_path / "results", dataset)
    _break(results, rule)
    problems = check_upload(results, dataset)  # the folder, as it would be zipped
    assert len(problems) == 1 and message in problems[0], problems


def test_a_broken_result_leaves_no_zip(dataset, tmp_path):
    results = good_results(tmp_path / "mine", dataset)
    (results / "shadow" / "b" / "bin000006.png").unlink()
    target = tmp_path / "upload" / "mine.zip"
    with pytest.raises(UploadLayoutError, match="1 of 6 frames missing"):
        write_upload_zip(results, dataset, target)
    assert list(target.parent.iterdir()) == []


def test_not_a_zip_is_one_clear_error(dataset, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    with pytest.raises(UploadLayoutError, match="not a zip file"):
        check_upload(bad, dataset)
