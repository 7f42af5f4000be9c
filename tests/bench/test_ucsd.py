"""The UCSD adapter: real clips converted to the CDnet layout, then run and scored the same way."""

from __future__ import annotations

import filecmp
import json

import pytest

from streamcd.bench.ucsd import ucsd_names, ucsd_to_cdnet
from streamcd.cdnet_layout import CdnetVideo, find_videos
from streamcd.cli import main
from streamcd.errors import DatasetError


@pytest.fixture(scope="module")
def ucsd(shared_data):
    return shared_data / "ucsd"


@pytest.mark.parametrize(
    ("name", "count", "temporal", "first_number"),
    [
        ("rain", 14, (1, 14), 75),  # numbered 75..88: shifted to 1..14
        ("skiing", 111, (1, 101), 1),  # temporalROI stops before the last frame
        ("birds", 71, (1, 71), 1),  # frame_10 must not sort before frame_2
    ],
)
def test_clip_becomes_a_cdnet_video(ucsd, tmp_path, name, count, temporal, first_number):
    video = CdnetVideo.open(ucsd_to_cdnet(ucsd, tmp_path, [name]) / "ucsd" / name)
    assert (video.key, video.count, (video.first, video.last)) == (f"ucsd/{name}", count, temporal)
    clip = ucsd / f"{name}_" / name
    for n in (1, 2, 10, count):
        ucsd_number = first_number + n - 1
        assert filecmp.cmp(video.input_path(n), clip / "in" / f"frame_{ucsd_number}.jpg", False)
        assert filecmp.cmp(video.groundtruth_path(n), clip / "groundtruth" /
                           f"gt{ucsd_number:04d}.png", False)


def test_every_clip_is_found(ucsd):
    assert len(ucsd_names(ucsd)) == 18


def test_unknown_clip_lists_the_available_ones(ucsd, tmp_path):
    with pytest.raises(DatasetError, match="available: birds"):
        ucsd_to_cdnet(ucsd, tmp_path, ["nope"])


def test_bench_scores_ucsd_like_cdnet(ucsd, tmp_path):
    out = tmp_path / "bench"
    assert main(["bench", "cdnet", "--ucsd", str(ucsd), "--videos", "peds", "--methods",
                 "streamcd,mog2", "--out", str(out), "--in-process", "--no-plots",
                 "--score-frames", "roi", "--threads", "1"]) == 0
    report = json.loads((out / "report.json").read_text())
    videos = find_videos(out / "ucsd-cdnet")
    assert [v.key for v in videos] == ["ucsd/peds"]
    for method in ("streamcd", "mog2"):
        scores = report["methods"][method]["scores"]
        assert scores["videos"]["ucsd/peds"]["frames"] == [1, 25]
        # no warm-up frames: streamcd collects its median from the clip and still writes all 25
        assert len(list((out / "results" / method / "ucsd" / "peds").glob("bin*.png"))) == 25
    assert report["pr_curve"] is None  # 25 frames: no validation frames before the held-out ones
